"""CPU tuning for a run: where a bare litellm loop spends time it does not need to.

A run of thousands of calls is CPU-bound on the event loop: litellm costs milliseconds of CPU
per call, far more than the socket work. Two costs are avoidable without touching litellm:

- **The thread hop.** `litellm.acompletion` prepares each request (`completion(...)`, pure
  Python for OpenAI-compatible and Anthropic providers) in the loop's default thread pool. On
  two cores that is a context switch, a self-pipe wake-up and GIL contention per call.
  `PrepExecutor` runs those submissions inline, on the loop thread, when they come from a
  task marked by `inline_prep()`; every other submission goes to threads as before.
- **Full garbage collections.** The interpreter holds hundreds of thousands of long-lived
  objects once litellm is imported; every gen-2 collection walks them all. `frozen_gc()` moves
  them to the permanent generation for the run (`gc.freeze`), and back afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

# Providers whose request preparation is CPU only (no credential fetch, no blocking I/O).
INLINE_PROVIDERS = frozenset(
    {"openai", "text-completion-openai", "hosted_vllm", "anthropic", "sim"}
)

# Tasks whose default-executor submissions run inline. A task, not a context variable: tasks
# that litellm starts from a call (logging, callbacks) inherit the context, not the mark.
_inline_tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
_frozen_depth = 0


def inline_provider(model: str) -> bool:
    """True when the litellm model string names a provider in INLINE_PROVIDERS."""
    provider, sep, _ = model.partition("/")
    return bool(sep) and provider in INLINE_PROVIDERS


class PrepExecutor(ThreadPoolExecutor):
    """A loop's default executor: inline for tasks marked by `inline_prep()`; otherwise the
    executor it replaced (when there was one), or its own threads."""

    def __init__(self, fallback: Executor | None = None) -> None:
        super().__init__(thread_name_prefix="harness-prep")
        self.fallback = fallback

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if not marked():
            if self.fallback is not None:
                return self.fallback.submit(fn, *args, **kwargs)
            return super().submit(fn, *args, **kwargs)
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered to the awaiting caller, as a thread would
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait, cancel_futures=cancel_futures)
        if self.fallback is not None:
            self.fallback.shutdown(wait, cancel_futures=cancel_futures)


def install_prep_executor(loop: asyncio.AbstractEventLoop) -> None:
    """Make a `PrepExecutor` the loop's default executor. The one it replaces (created by an
    earlier `run_in_executor`, or set by the caller) keeps every job not marked inline."""
    current = getattr(loop, "_default_executor", None)
    if not isinstance(current, PrepExecutor):
        loop.set_default_executor(PrepExecutor(fallback=current))


def inline_prep(enabled: bool = True) -> None:
    """Mark the running task (not the tasks it starts): its default-executor work runs inline."""
    task = asyncio.current_task()
    if task is None:
        return
    if enabled:
        _inline_tasks.add(task)
    else:
        _inline_tasks.discard(task)


def marked() -> bool:
    """Whether the caller is a task marked by `inline_prep` (False off the loop thread)."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop in this thread
        return False
    return task is not None and task in _inline_tasks


@contextlib.contextmanager
def frozen_gc() -> Iterator[None]:
    """Keep the objects alive at entry out of garbage collection until exit (re-entrant)."""
    global _frozen_depth
    if _frozen_depth == 0:
        gc.freeze()
    _frozen_depth += 1
    try:
        yield
    finally:
        _frozen_depth -= 1
        if _frozen_depth == 0:
            gc.unfreeze()
