"""Run tuning: inline request preparation on the loop thread, and the frozen GC."""

from __future__ import annotations

import asyncio
import gc
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.config import HarnessConfig, Limits, ModelConfig
from harness.llm import tuning
from harness.llm.client import Runner
from harness.llm.store import Store
from harness.llm.types import Request, Response


@pytest.mark.parametrize(
    ("model", "inline"),
    [
        ("openai/gpt-4o", True),
        ("openai/my-vllm-model", True),
        ("anthropic/claude-sonnet-4", True),
        ("sim/careful", True),
        ("gpt-4o", False),  # provider inferred by litellm: not assumed
        ("vertex_ai/gemini-2.5-pro", False),  # credential refresh may block
        ("bedrock/anthropic.claude-3", False),
        ("ollama/llama3", False),  # may ask the server for model info while preparing
    ],
)
def test_inline_provider(model: str, inline: bool) -> None:
    assert tuning.inline_provider(model) is inline


async def _where(inline: bool) -> tuple[int, int]:
    """(loop thread id, thread that ran a default-executor job) in a fresh task."""

    async def job() -> tuple[int, int]:
        tuning.inline_prep(inline)
        ran = await asyncio.get_running_loop().run_in_executor(None, threading.get_ident)
        return threading.get_ident(), ran

    return await asyncio.ensure_future(job())


def test_prep_executor_runs_inline_only_where_marked() -> None:
    async def main() -> tuple[tuple[int, int], tuple[int, int], int]:
        tuning.install_prep_executor(asyncio.get_running_loop())
        marked = await _where(True)
        unmarked = await _where(False)
        # The mark is per task: the caller's own context is untouched.
        plain = await asyncio.get_running_loop().run_in_executor(None, threading.get_ident)
        return marked, unmarked, plain

    (loop_a, ran_a), (loop_b, ran_b), plain = asyncio.run(main())
    assert ran_a == loop_a
    assert ran_b != loop_b
    assert plain != loop_a


def test_tasks_started_by_a_marked_task_are_not_inline() -> None:
    async def main() -> tuple[int, int, int]:
        loop = asyncio.get_running_loop()
        tuning.install_prep_executor(loop)
        tuning.inline_prep(True)
        own = await loop.run_in_executor(None, threading.get_ident)

        async def spawned() -> int:  # e.g. a logging task litellm starts during a call
            return await loop.run_in_executor(None, threading.get_ident)

        child = await asyncio.ensure_future(spawned())
        return threading.get_ident(), own, child

    loop_thread, own, child = asyncio.run(main())
    assert own == loop_thread
    assert child != loop_thread


def test_prep_executor_delivers_exceptions_inline() -> None:
    def boom() -> None:
        raise ValueError("bad params")

    async def main() -> None:
        tuning.install_prep_executor(asyncio.get_running_loop())
        tuning.inline_prep(True)
        with pytest.raises(ValueError, match="bad params"):
            await asyncio.get_running_loop().run_in_executor(None, boom)

    asyncio.run(main())


def test_a_callers_own_executor_keeps_its_jobs() -> None:
    own = ThreadPoolExecutor(max_workers=1, thread_name_prefix="own")

    async def main() -> tuple[str, int, int]:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(own)
        tuning.install_prep_executor(loop)
        tuning.install_prep_executor(loop)  # idempotent: no executor chain
        name = await loop.run_in_executor(None, lambda: threading.current_thread().name)
        marked = await _where(True)
        return name, *marked

    name, loop_thread, ran = asyncio.run(main())
    assert name.startswith("own")
    assert ran == loop_thread
    assert own._shutdown  # the loop's shutdown reached the replaced executor


def test_frozen_gc_is_reentrant_and_restores() -> None:
    assert gc.get_freeze_count() == 0
    with tuning.frozen_gc():
        outer = gc.get_freeze_count()
        assert outer > 0
        with tuning.frozen_gc():
            assert gc.get_freeze_count() >= outer
        assert gc.get_freeze_count() >= outer  # the inner exit does not unfreeze
    assert gc.get_freeze_count() == 0


def test_runner_prepares_calls_inline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marks: list[bool] = []  # per default-executor submission: marked inline?
    submit = tuning.PrepExecutor.submit

    def spy(self: tuning.PrepExecutor, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        marks.append(tuning.marked())
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(tuning.PrepExecutor, "submit", spy)
    m = ModelConfig(alias="careful", model="sim/careful")
    cfg = HarnessConfig(models=(m,), limits=Limits(max_concurrency=4))
    got: list[Response] = []
    reqs = [
        Request.make(m, [{"role": "user", "content": f"a pydantic model {i}"}]) for i in range(6)
    ]
    with Store(tmp_path / "s.sqlite") as store:
        runner = Runner(cfg, store, progress=False)
        stats = asyncio.run(runner.run(reqs, lambda q, r: got.append(r)))
    assert stats.done == 6 and all(r.ok for r in got)
    assert marks.count(True) >= 6  # every call's preparation ran inline
    assert gc.get_freeze_count() == 0
