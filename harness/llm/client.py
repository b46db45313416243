"""Model calls: requests in, responses out, through the store and litellm.

`Runner.run` consumes requests lazily. Store hits are answered at once; misses go to one lane
per model (a bounded queue and `max_concurrency` workers) behind a global semaphore. Each lane
adapts its concurrency on 429 (halve, then +1 back), honours Retry-After, paces `rpm`, and
retries transient faults with exponential backoff and full jitter. Auth / not-found failures
stop that model only. Every result reaches `on_result` exactly once. For CPU, litellm's
request preparation runs on the loop thread and the GC is frozen while a run lasts (`tuning`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import secrets
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from harness.config import HarnessConfig, ModelConfig
from harness.errors import ProviderError
from harness.llm import tuning
from harness.llm.faults import Fault, classify, where
from harness.llm.limiter import AdaptiveLimiter, RatePacer
from harness.llm.redact import Redactor
from harness.llm.types import (
    AUTH,
    BUDGET,
    EMPTY,
    NOT_FOUND,
    NOT_RECORDED,
    RATE_LIMIT,
    TRANSIENT,
    UNREACHABLE,
    Request,
    Response,
    RunStats,
)

if TYPE_CHECKING:
    from harness.llm.progress import ProgressSink
    from harness.llm.store import Store

KEY_HEADER = "X-Harness-Key"
INTERRUPT_GRACE = 5.0
MAX_PAUSE = 300.0
FEED_CHUNK = 64  # requests looked up in the store per query
CLAIM_POLL = 0.25  # seconds between looks for answers another process is getting
LEASE_SLACK = 120.0  # seconds a claim outlives the longest call (time queued behind others)


def _owner_gone(owner: str) -> bool:
    """Whether a claim's owner (`host:pid:nonce`) is a process of this host that has ended."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    try:  # a zombie has ended too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


class _Lane:
    """One model's queue, workers and throttles."""

    def __init__(self, model: ModelConfig, limits_concurrency: int, timeout: float) -> None:
        self.model = model
        self.workers = min(model.max_concurrency, limits_concurrency)
        self.limiter = AdaptiveLimiter(self.workers)
        self.pacer = RatePacer(model.rpm) if model.rpm else None
        self.queue: asyncio.Queue[Request | None] = asyncio.Queue(
            maxsize=max(256, 4 * self.workers)
        )
        self.stopped: tuple[str, str] | None = None  # (error_kind, message)
        self.priced: bool | None = None  # None: unknown yet; False: litellm has no price
        self.base_kwargs: dict[str, Any] = {
            "model": model.model,
            "timeout": timeout,
            "num_retries": 0,
            "max_retries": 0,
        }
        if model.api_base:
            self.base_kwargs["api_base"] = model.api_base


class Runner:
    def __init__(
        self,
        config: HarnessConfig,
        store: Store,
        *,
        offline: bool = False,
        no_cache: bool = False,
        retry_errors: bool = False,
        max_cost: float | None = None,
        progress: bool | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        interrupt_grace: float = INTERRUPT_GRACE,
        stream: TextIO | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.offline = offline
        self.no_cache = no_cache
        self.retry_errors = retry_errors
        self.max_cost = max_cost if max_cost is not None else config.limits.max_cost
        self.progress = progress
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.interrupt_grace = interrupt_grace
        self.stream = stream or sys.stderr
        self.redact = Redactor()
        self._rng = random.Random()

    # public -------------------------------------------------------------------------------

    async def run(
        self,
        requests: Iterable[Request],
        on_result: Callable[[Request, Response], None],
        *,
        total: int | None = None,
    ) -> RunStats:
        """Answer every request (store or provider) and call `on_result` once for each."""
        from harness.llm.progress import make_progress

        if total is None and hasattr(requests, "__len__"):
            total = len(requests)
        self._on_result = on_result
        self._lanes: dict[str, _Lane] = {}
        self._inflight: dict[str, list[Request]] = {}  # key -> duplicates waiting for it
        # Requests whose key another process sharing the store is calling for.
        self._waiting: list[Request] = []
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        limits = self.config.limits
        self._lease = limits.timeout * limits.max_attempts + LEASE_SLACK
        # Answers put in the store and not yet committed: (write seq, request, answer, dups).
        self._held: deque[tuple[int, Request, Response, Sequence[Request]]] = deque()
        self._stopping = False
        self._stop = asyncio.Event()
        self._callback_error: BaseException | None = None
        self._global = asyncio.Semaphore(self.config.limits.max_concurrency)
        self._litellm: Any = None
        self._sim_ready = False
        self._n = dict.fromkeys(("total", "done", "cached", "errors", "not_recorded", "budget"), 0)
        self._cost = 0.0
        self._budget_said = False
        self._not_recorded: list[tuple[str, str]] = []
        self._progress: ProgressSink = make_progress(self.progress, total, self.stream)

        loop = asyncio.get_running_loop()

        def committed(seq: int) -> None:  # the store's writer thread
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(self._release, seq)

        self.store.on_commit = committed
        handled = False
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, self._interrupt)
            handled = True
        tuning.install_prep_executor(loop)
        main = asyncio.ensure_future(self._main(requests))
        stop_wait = asyncio.ensure_future(self._stop.wait())
        try:
            with tuning.frozen_gc():  # long-lived objects stay out of full collections
                await asyncio.wait({main, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
                if not main.done():
                    # Interrupted: let calls in flight finish for a moment, then drop them.
                    await asyncio.wait({main}, timeout=self.interrupt_grace)
                    main.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await main
        finally:
            stop_wait.cancel()
            if handled:
                loop.remove_signal_handler(signal.SIGINT)
            await asyncio.to_thread(self.store.flush)
            with contextlib.suppress(Exception):  # claims left (an interrupted run) expire
                self.store.release_claims(self._owner)
            self.store.on_commit = None
            self._release()  # committed now (or the store failed: the answers are still kept)
            self._progress.close()
        if self._callback_error is not None:
            raise self._callback_error
        n = self._n
        return RunStats(
            total=n["total"],
            done=n["done"],
            cached=n["cached"],
            errors=n["errors"],
            not_recorded=n["not_recorded"],
            cost=self._cost,
            interrupted=self._stopping,
            skipped_budget=n["budget"],
            not_recorded_keys=tuple(self._not_recorded),
            stopped_models=tuple(
                (alias, lane.stopped[1]) for alias, lane in self._lanes.items() if lane.stopped
            ),
            budget_exhausted=self._over_budget(),
        )

    def interrupt(self) -> None:
        """Stop starting new requests (what the first Ctrl-C does)."""
        if not self._stopping:
            self._stopping = True
            self._stop.set()

    # internals ----------------------------------------------------------------------------

    def _interrupt(self) -> None:
        if self._stopping:
            self._say("interrupted again: exiting now (the store keeps every committed answer)")
            with contextlib.suppress(Exception):
                self.store.flush(timeout=1.0)
            os._exit(130)
        self._say(
            f"interrupted: finishing calls in flight (up to {self.interrupt_grace:g} s); "
            "press Ctrl-C again to quit at once"
        )
        self.interrupt()

    def _say(self, text: str) -> None:
        self._progress.message(text)

    def _over_budget(self) -> bool:
        return self.max_cost is not None and self._cost >= self.max_cost

    async def _main(self, requests: Iterable[Request]) -> None:
        workers: list[asyncio.Task[None]] = []
        try:
            await self._feed(requests, workers)
            for lane in self._lanes.values():
                for _ in range(lane.workers):
                    await lane.queue.put(None)
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            if workers:
                await asyncio.gather(*workers, return_exceptions=True)

    async def _feed(self, requests: Iterable[Request], workers: list[asyncio.Task[None]]) -> None:
        get_many = None if self.no_cache else self.store.get_many
        since_yield = 0
        for req, hit, ours in self._with_hits(requests, get_many):
            if self._stopping:
                return
            if hit is not None:
                self._deliver(req, hit)
                since_yield += 1
                if since_yield >= 64:  # let lanes and progress run during long hit streaks
                    since_yield = 0
                    await asyncio.sleep(0)
                continue
            if not ours:  # another process is calling it: wait for its answer
                self._waiting.append(req)
                continue
            await self._enqueue(req, workers)
        await self._await_others(workers)

    async def _enqueue(self, req: Request, workers: list[asyncio.Task[None]]) -> None:
        alias = req.model.alias
        lane = self._lanes.get(alias)
        if lane is None:
            lane = self._open_lane(req.model, workers)
        if self.offline and not req.model.simulated:
            self._deliver(
                req,
                Response.failed(
                    req.key, NOT_RECORDED, "offline: no recorded response in the store"
                ),
            )
            return
        skip = self._skip_reason(lane)
        if skip is not None:
            self._deliver(req, Response.failed(req.key, *skip))
            return
        waiting = self._inflight.get(req.key)
        if waiting is not None:  # same key already queued: answer both from one call
            waiting.append(req)
            return
        self._inflight[req.key] = []
        await lane.queue.put(req)

    def _claimable(self, req: Request) -> bool:
        """Calls worth coordinating with other processes on this store: paid ones."""
        return not (req.model.simulated or self.offline or self.no_cache)

    def _with_hits(
        self,
        requests: Iterable[Request],
        get_many: Callable[[Sequence[str]], Mapping[str, Response]] | None,
    ) -> Iterator[tuple[Request, Response | None, bool]]:
        """Each request with its stored answer (FEED_CHUNK keys per query) and whether this
        process may call for it (no other process holds a live claim on its key)."""
        it = iter(requests)
        while chunk := list(itertools.islice(it, FEED_CHUNK)):
            hits = dict(get_many([r.key for r in chunk])) if get_many is not None else {}
            if not self.retry_errors and not self.no_cache:
                hits.update(self._remembered([r for r in chunk if r.key not in hits]))
            misses = [r.key for r in chunk if r.key not in hits and self._claimable(r)]
            won = (
                self.store.claim(misses, self._owner, self._lease, _owner_gone) if misses else set()
            )
            for req in chunk:
                ours = req.key in won or not self._claimable(req)
                yield req, hits.get(req.key), ours

    def _remembered(self, requests: Sequence[Request]) -> dict[str, Response]:
        """The errors an earlier run got for these keys, as answers: a rerun does not repeat
        a failed call unless asked to (`--retry-errors`). Budget stops are not errors."""
        if not requests:
            return {}
        found = self.store.errors_many([r.key for r in requests])
        out = {}
        for key, (kind, error) in found.items():
            if kind in (BUDGET, NOT_RECORDED):
                continue
            note = f"{error} [remembered from an earlier run; --retry-errors calls again]"
            out[key] = Response.failed(key, kind or TRANSIENT, note).as_cached()
        return out

    async def _await_others(self, workers: list[asyncio.Task[None]]) -> None:
        """Answer the requests another process was calling: from the store once it has the
        answer (or, unless `retry_errors`, the error it got), or by calling ourselves once
        its claim has expired."""
        while self._waiting and not self._stopping:
            await asyncio.sleep(CLAIM_POLL)
            waiting, self._waiting = self._waiting, []
            hits = dict(self.store.get_many([r.key for r in waiting]))
            if not self.retry_errors:
                hits.update(self._remembered([r for r in waiting if r.key not in hits]))
            rest = [r for r in waiting if r.key not in hits]
            won = self.store.claim([r.key for r in rest], self._owner, self._lease, _owner_gone)
            for req in waiting:
                if req.key in hits:
                    self._deliver(req, hits[req.key])
                elif req.key in won:
                    await self._enqueue(req, workers)
                else:
                    self._waiting.append(req)

    def _open_lane(self, model: ModelConfig, workers: list[asyncio.Task[None]]) -> _Lane:
        limits = self.config.limits
        lane = _Lane(model, limits.max_concurrency, limits.timeout)
        self._lanes[model.alias] = lane
        if not (self.offline and not model.simulated):
            workers.extend(asyncio.ensure_future(self._work(lane)) for _ in range(lane.workers))
        return lane

    def _skip_reason(self, lane: _Lane) -> tuple[str, str] | None:
        if lane.stopped is not None:
            kind, why = lane.stopped
            return kind, f"not called: model {lane.model.alias!r} was stopped earlier ({why})"
        if self._over_budget():
            return BUDGET, f"not called: max_cost {self.max_cost:g} reached"
        return None

    async def _work(self, lane: _Lane) -> None:
        tuning.inline_prep(tuning.inline_provider(lane.model.model))  # this task's context only
        queue = lane.queue
        while True:
            req = await queue.get()
            if req is None:
                return
            if self._stopping:
                continue  # never started: not reported, a resume will run it
            resp = await self._call(lane, req)
            if resp is None:
                continue
            dups = self._inflight.pop(req.key, ())
            if resp.ok and not resp.cached:
                self._spend(resp.cost)
                # Paid for: handed on only once it is committed, so that nothing downstream
                # (results, a resume) ever holds an answer the store could lose.
                seq = self.store.put(req.key, resp, req)
                self._held.append((seq, req, resp, dups))
                continue
            if not resp.ok and resp.error_kind not in (BUDGET, NOT_RECORDED):
                self.store.put_error(req.key, req.model.model, resp.error_kind, resp.error)
            self._deliver(req, resp)
            for dup in dups:
                self._deliver(dup, resp)

    def _spend(self, cost: float | None) -> None:
        if not cost:
            return
        self._cost += cost
        if self._over_budget() and not self._budget_said:
            self._budget_said = True
            self._say(
                f"budget: spent {self._cost:.4f} of max_cost {self.max_cost:g}; "
                "no new calls will start (the rest are reported as skipped)"
            )

    def _release(self, committed: int | None = None) -> None:
        """Hand on the held answers the store has committed (all of them, with None)."""
        held = self._held
        while held and (committed is None or held[0][0] <= committed):
            _, req, resp, dups = held.popleft()
            self._deliver(req, resp)
            for dup in dups:
                self._deliver(dup, resp.as_cached())

    def _ensure_litellm(self, model: ModelConfig) -> Any:
        if self._litellm is None:
            from harness.llm import load_litellm

            self._litellm = load_litellm()
        if model.simulated and not self._sim_ready:
            try:
                from harness.llm import sim
            except ImportError as exc:
                raise ProviderError(
                    f"simulated model {model.model!r} is not available: {exc}"
                ) from None
            sim.register()
            self._sim_ready = True
        return self._litellm

    async def _call(self, lane: _Lane, req: Request) -> Response | None:
        """Call with retries. None when interrupted before an answer."""
        litellm = self._ensure_litellm(req.model)
        limits = self.config.limits
        kwargs = dict(lane.base_kwargs)
        kwargs.update(req.params)
        if req.model.api_base:
            # Self-hosted OpenAI-compatible servers get the store key, so a proxy or cache in
            # front of them can deduplicate; hosted providers never see it.
            kwargs["extra_headers"] = {KEY_HEADER: req.key}
        kwargs["messages"] = [dict(m) for m in req.messages]
        acompletion = litellm.acompletion
        fault: Fault | None = None
        empties = 0
        for attempt in range(limits.max_attempts):
            if self._stopping:
                return None
            skip = self._skip_reason(lane)
            if skip is not None:
                return Response.failed(req.key, *skip)
            epoch = await lane.limiter.acquire()
            try:
                if lane.pacer is not None:
                    await lane.pacer.wait()
                async with self._global:
                    if self._stopping:
                        return None
                    started = time.perf_counter()
                    try:
                        raw = await acompletion(**kwargs)
                    except Exception as exc:
                        fault = classify(exc, litellm, self.redact, limits.timeout)
                        raw = None
                    latency_ms = (time.perf_counter() - started) * 1000.0
            finally:
                lane.limiter.release()
            if raw is not None:
                resp = self._response(lane, req, raw, latency_ms)
                if resp.ok:
                    lane.limiter.succeeded()
                    return resp
                fault = Fault(EMPTY, resp.error or "empty reply", retry=empties == 0)
                empties += 1
            assert fault is not None
            if not fault.retry:
                message = f"{where(req.model)}: {fault.message}"
                if fault.kind in (AUTH, NOT_FOUND, UNREACHABLE) and lane.stopped is None:
                    lane.stopped = (fault.kind, message)
                    self._say(
                        f"model {message}. Stopped: its remaining requests are reported as"
                        " errors; other models go on"
                    )
                return Response.failed(req.key, fault.kind, message, latency_ms)
            if attempt + 1 >= limits.max_attempts:
                break
            delay = self._rng.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))
            if fault.kind == RATE_LIMIT:
                pause = min(fault.retry_after, MAX_PAUSE) if fault.retry_after is not None else 0.0
                lane.limiter.rate_limited(epoch, pause)
                delay = max(delay, pause)
            if await self._sleep(delay):
                return None
        assert fault is not None
        tries = limits.max_attempts
        message = f"{where(req.model)}: {fault.message} (gave up after {tries} attempts)"
        return Response.failed(req.key, fault.kind, message, latency_ms)

    async def _sleep(self, delay: float) -> bool:
        """Sleep unless interrupted; True when interrupted."""
        if delay <= 0:
            return self._stopping
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)
        return self._stopping

    def _response(self, lane: _Lane, req: Request, raw: Any, latency_ms: float) -> Response:
        choice = raw.choices[0] if raw.choices else None
        text = getattr(getattr(choice, "message", None), "content", None) if choice else None
        finish = getattr(choice, "finish_reason", None) if choice else None
        usage = getattr(raw, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        provider_model = getattr(raw, "model", None)
        if not text or not text.strip():
            return Response(
                req.key,
                None,
                finish,
                prompt_tokens,
                completion_tokens,
                None,
                latency_ms,
                provider_model,
                False,
                f"empty reply (finish_reason={finish})",
                EMPTY,
            )
        return Response(
            req.key,
            text,
            finish,
            prompt_tokens,
            completion_tokens,
            self._cost_of(lane, raw),
            latency_ms,
            provider_model,
            False,
            None,
            None,
        )

    def _cost_of(self, lane: _Lane, raw: Any) -> float | None:
        """litellm's price for the call, or None when it has none. Never raises."""
        hidden = getattr(raw, "_hidden_params", None) or {}
        cost = hidden.get("response_cost") if isinstance(hidden, dict) else None
        if cost is None and lane.priced is not False:
            try:
                cost = self._litellm.completion_cost(completion_response=raw)
                lane.priced = True
            except Exception:
                lane.priced = False  # unknown model: don't pay for the lookup again
                cost = None
        if cost is None:
            return None
        try:
            return float(cost)
        except (TypeError, ValueError):
            return None

    def _deliver(self, req: Request, resp: Response) -> None:
        resp = resp.with_valid_text()  # the store keeps the text as it came
        n = self._n
        n["total"] += 1
        if resp.ok:
            if resp.cached:
                n["cached"] += 1
            else:
                n["done"] += 1
        else:
            n["errors"] += 1
            if resp.error_kind == NOT_RECORDED:
                n["not_recorded"] += 1
                self._not_recorded.append((req.model.alias, req.key))
            elif resp.error_kind == BUDGET:
                n["budget"] += 1
        self._progress.update(resp, self._cost)
        try:
            self._on_result(req, resp)
        except BaseException as exc:
            if self._callback_error is None:
                self._callback_error = exc
            self.interrupt()
