"""Checking off the event loop: a thread batches answers (64, or every 0.5 s) and hands them
to a worker process (or checks them in the thread for small runs). Identical replies to one
template are checked once. Each verdict goes to `emit` as soon as its batch is done.

The worker is kept warm after the run: `Checker.start` runs a function there, which the run
uses to write the reports that carry rule docs (markdown, SARIF, HTML) through the `report`
package's public `write_reports`, since the worker already has the rule registry and the HTML
template loaded; this saves about 0.3 s a run (see `bench_evaluate.py`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from harness.check import Job, JobSpec, Verdict, check_verdicts, crashed_verdict, spec_key
from harness.code.engine import RuleSet
from harness.llm.types import Request, Response
from harness.worker import Worker, WorkerDied, each_isolated

T = TypeVar("T")

BATCH_SIZE = 64
BATCH_WAIT = 0.5  # seconds
MEMO_SIZE = 512  # compact entries (status + encoded fields): a few MB at most
QUEUE_SIZE = 2048
WORKER_NICE = 5  # the check worker yields the CPU to the process making the calls
BATCH_TIMEOUT = 120.0  # seconds a batch may take (plus one unit's limit) before a kill

_WORKER: dict[str, Any] = {}


def _init_worker(
    settings: Any, ruff_select: tuple[str, ...] | None, specs: dict[str, JobSpec]
) -> None:
    # Checking is throughput work; the event loop making the calls is latency work. On a
    # small machine let the loop have the CPU first (ruff, started from here, inherits this).
    with contextlib.suppress(AttributeError, OSError):
        os.nice(WORKER_NICE)

    _WORKER["ruleset"] = RuleSet.build(settings=settings)
    _WORKER["ruff"] = ruff_select
    _WORKER["specs"] = specs


def _warm_reports() -> None:
    """Load the rule registry and the writers the worker runs at the end (markdown, SARIF,
    HTML) while it would otherwise wait for the first answers."""
    from harness.registry import all_rules
    from harness.report import preload

    all_rules()
    preload()


def _check_in_worker(jobs: Sequence[Job]) -> list[Verdict]:
    return check_verdicts(jobs, _WORKER["specs"], _WORKER["ruleset"], _WORKER["ruff"])


@dataclass(slots=True)
class _Pending:
    request: Request
    response: Response
    memo: tuple[str, str, str | None] = ("", "", None)  # set by the checker thread

    def set_memo(self) -> None:
        text = self.response.text or ""
        digest = hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()
        cell = self.request.tag.cell  # type: ignore[attr-defined]
        key = f"{cell.template_hash}:{cell.case.name}"  # a case may declare its own `provides`
        self.memo = (key, digest, self.response.finish_reason)


class Checker:
    """Checks answers off the event loop and writes each SampleResult as it is ready."""

    def __init__(
        self,
        emit: Callable[[Request, Response, Verdict], None],
        settings: Any,
        ruff_select: tuple[str, ...] | None,
        workers: int,
        specs: dict[str, JobSpec],
    ) -> None:
        self._emit = emit
        self._ruff = ruff_select
        self._settings = settings
        self._specs = specs
        self._queue: queue.Queue[_Pending | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self._memo: OrderedDict[tuple[str, str, str | None], Verdict] = OrderedDict()
        self._running: dict[tuple[str, str, str | None], list[_Pending]] = {}
        self._worker: Worker | None = None
        self._ruleset: RuleSet | None = None
        self._batch_timeout = BATCH_TIMEOUT + getattr(settings, "unit_timeout", 10.0)
        self.crashes = 0
        if workers > 0:
            self._worker = Worker(
                _init_worker, (settings, ruff_select, specs), preload=("harness.checker",)
            )
            # Let the worker load the report writers and rule docs while it waits for the
            # first answers: the reports are written there at the end.
            self._worker.call(_warm_reports)
        else:
            self._ruleset = RuleSet.build(settings=settings)
        self._error: BaseException | None = None
        self.memo_hits = 0
        self.checked = 0
        self._thread = threading.Thread(target=self._loop, name="harness-checker", daemon=True)
        self._thread.start()

    def submit(self, request: Request, response: Response) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(_Pending(request, response))  # hashed in the thread, off the loop

    def drain(self) -> None:
        """Check everything submitted and stop the thread; the worker stays for `start`."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def start(self, fn: Callable[..., T], *args: Any) -> Callable[[], T]:
        """Start `fn(*args)` in the check worker (its imports are warm); the function returned
        waits for the result. Without a live worker, `fn` runs here when waited for."""
        future: Future[T] | None = None
        if self._worker is not None:
            future = self._worker.call(fn, *args)

        def wait() -> T:
            if future is not None:
                with contextlib.suppress(WorkerDied):
                    return future.result()
            return fn(*args)  # no worker, or it died: do it here

        return wait

    def close(self) -> None:
        try:
            self.drain()
        finally:
            if self._worker is not None:
                self._worker.close()

    # the thread --------------------------------------------------------------------------

    def _loop(self) -> None:
        inflight: deque[tuple[Future[list[Verdict]], list[list[_Pending]]]] = deque()
        done = False
        try:
            while not done:
                batch: dict[tuple[str, str, str | None], list[_Pending]] = {}
                started: float | None = None
                while len(batch) < BATCH_SIZE:
                    timeout = (
                        None
                        if started is None
                        else max(0.0, BATCH_WAIT - (time.monotonic() - started))
                    )
                    if inflight and started is None:
                        timeout = 0.05  # keep finished batches flowing out while idle
                    try:
                        item = self._queue.get(timeout=timeout)
                    except queue.Empty:
                        if started is None:
                            self._drain(inflight, keep=len(inflight))
                            continue
                        break
                    if item is None:
                        done = True
                        break
                    item.set_memo()
                    hit = self._memo.get(item.memo)
                    if hit is not None:
                        self._memo.move_to_end(item.memo)
                        self.memo_hits += 1
                        self._emit(item.request, item.response, hit)
                        continue
                    running = self._running.get(item.memo)
                    if running is not None:  # same reply already being checked: join it
                        running.append(item)
                        continue
                    group = batch.setdefault(item.memo, [])
                    group.append(item)
                    if started is None:
                        started = time.monotonic()
                if batch:
                    self._dispatch(list(batch.values()), inflight)
                self._drain(inflight, keep=0 if done else 1)
            self._drain(inflight, keep=0)
        except BaseException as exc:  # surfaced to the caller by submit/close
            self._error = exc
            while not done:  # never leave the producer blocked on a full queue
                try:
                    if self._queue.get(timeout=0.1) is None:
                        break
                except queue.Empty:
                    continue

    def _dispatch(
        self,
        groups: list[list[_Pending]],
        inflight: deque[tuple[Future[list[Verdict]], list[list[_Pending]]]],
    ) -> None:
        jobs = [self._job(g[0]) for g in groups]
        for g in groups:
            self._running[g[0].memo] = g
        if self._worker is not None:
            inflight.append((self._worker.call(_check_in_worker, jobs), groups))
        else:
            fut: Future[list[Verdict]] = Future()
            assert self._ruleset is not None
            fut.set_result(check_verdicts(jobs, self._specs, self._ruleset, self._ruff))
            inflight.append((fut, groups))

    def _drain(
        self,
        inflight: deque[tuple[Future[list[Verdict]], list[list[_Pending]]]],
        *,
        keep: int,
    ) -> None:
        """Emit finished batches; wait until at most `keep` are still running."""
        while inflight and (len(inflight) > keep or inflight[0][0].done()):
            fut, groups = inflight.popleft()
            try:
                verdicts = fut.result(timeout=self._batch_timeout)
            except (WorkerDied, TimeoutError):
                verdicts = self._recover(groups, inflight)
            for group, verdict in zip(groups, verdicts, strict=True):
                self.checked += 1
                self._running.pop(group[0].memo, None)
                self._memo[group[0].memo] = verdict
                if len(self._memo) > MEMO_SIZE:
                    self._memo.popitem(last=False)
                for item in group:
                    self._emit(item.request, item.response, verdict)

    def _recover(
        self,
        groups: list[list[_Pending]],
        inflight: deque[tuple[Future[list[Verdict]], list[list[_Pending]]]],
    ) -> list[Verdict]:
        """The worker died (or hung) on a batch: restart it and check each reply of the batch
        alone, so one bad reply costs only its own sample (`check-error`). Batches sent after
        it died are sent again."""
        assert self._worker is not None
        self._worker.kill()  # dead already, or hung
        later = [g for _, gs in inflight for g in gs]
        inflight.clear()
        jobs = [self._job(g[0]) for g in groups]
        outcomes = each_isolated(self._worker, _check_in_worker, jobs, timeout=self._batch_timeout)
        verdicts: list[Verdict] = []
        for job, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, WorkerDied):
                self.crashes += 1
                outcome = crashed_verdict(job, self._specs[job[2]], str(outcome))
            verdicts.append(outcome)
        if later:
            self._dispatch(later, inflight)
        return verdicts

    @staticmethod
    def _job(item: _Pending) -> Job:
        cell = item.request.tag.cell  # type: ignore[attr-defined]
        return (
            item.response.text or "",
            item.response.finish_reason,
            spec_key(cell.spec.id, cell.case.name),
        )
