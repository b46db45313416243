"""A supervised worker process: calls go in over a pipe, results come back as futures.

If the process dies (a segfault in a native parser, the kernel's OOM killer, a kill on
timeout), every call still pending fails with `WorkerDied`, and `restart` starts a new one.
The worker dies with its parent on any signal, SIGKILL included: the kernel sends it SIGKILL
when the parent goes (Linux `PR_SET_PDEATHSIG`), and it exits on its own when the pipe to the
parent closes.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any

_PR_SET_PDEATHSIG = 1


class WorkerDied(Exception):
    """The worker process ended before answering."""


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent ends (Linux; elsewhere the
    closed pipe ends it)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _serve(
    conn: Connection,
    parent_end: Connection | None,
    parent: int,
    init: Callable[..., None] | None,
    initargs: tuple[Any, ...],
) -> None:
    if parent_end is not None:  # forked: drop the copy of the parent's end, so EOF arrives
        parent_end.close()
    die_with_parent()
    if parent_end is not None and os.getppid() != parent:  # it went before the request took
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    if init is not None:
        init(*initargs)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            os._exit(0)  # the parent is gone
        if message is None:
            os._exit(0)  # asked to stop
        fn, args = message
        try:
            reply: tuple[bool, Any] = (True, fn(*args))
        except BaseException as exc:  # sent back: the caller's future raises it
            reply = (False, exc)
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            os._exit(0)
        except Exception as exc:  # an unpicklable result or exception
            conn.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))


class Worker:
    """One worker process running calls in order. Thread-safe."""

    def __init__(
        self,
        init: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
        *,
        method: str | None = None,
        preload: tuple[str, ...] = (),
    ) -> None:
        self._ctx = _context(method, preload)
        self._init = init
        self._initargs = initargs
        self._lock = threading.Lock()
        self._pending: deque[Future[Any]] = deque()
        self.restarts = 0
        self._start()

    def _start(self) -> None:
        ours, theirs = self._ctx.Pipe(duplex=True)
        self._conn = ours
        forked = ours if self._ctx.get_start_method() == "fork" else None
        self._process = self._ctx.Process(
            target=_serve,
            args=(theirs, forked, os.getpid(), self._init, self._initargs),
            name="harness-worker",
            daemon=True,
        )
        self._process.start()
        theirs.close()
        self._reader = threading.Thread(
            target=self._read, args=(ours, self._process), name="harness-worker-reader", daemon=True
        )
        self._reader.start()

    def _read(self, conn: Connection, process: Any) -> None:
        while True:
            try:
                ok, value = conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                future = self._pending.popleft() if self._pending else None
            if future is None:
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        process.join(timeout=5)
        code = process.exitcode
        reason = f"exit code {code}" if code is None or code >= 0 else _signal_name(-code)
        with self._lock:
            pending, self._pending = list(self._pending), deque()
        for future in pending:
            future.set_exception(WorkerDied(f"the check worker died ({reason})"))

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def call(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run `fn(*args)` in the worker; the future raises WorkerDied if it dies first."""
        future: Future[Any] = Future()
        with self._lock:
            if not self._process.is_alive() or not self._reader.is_alive():
                future.set_exception(WorkerDied("the check worker is not running"))
                return future
            self._pending.append(future)
            try:
                self._conn.send((fn, args))
            except (BrokenPipeError, OSError) as exc:
                self._pending.pop()
                future.set_exception(WorkerDied(f"the check worker is gone: {exc}"))
        return future

    def kill(self) -> None:
        """End the process now (returning once it has ended, so `alive` is then False);
        pending calls fail with WorkerDied."""
        with contextlib.suppress(OSError, AttributeError):
            self._process.kill()
        self._process.join(timeout=5)

    def restart(self) -> None:
        self.close()
        self.restarts += 1
        self._start()

    def close(self) -> None:
        with self._lock, contextlib.suppress(OSError):
            self._conn.send(None)  # the worker exits once it has answered what it was sent
        self._reader.join(timeout=30)  # the reader ends when the worker does
        self._process.join(timeout=5)
        if self._process.is_alive():
            self.kill()
            self._process.join(timeout=5)
        self._reader.join(timeout=5)
        with contextlib.suppress(OSError):
            self._conn.close()


def _context(method: str | None, preload: tuple[str, ...]) -> Any:
    """Fork while this process has one thread (cheap, shares the imports). With threads, a
    fork could copy a held lock: fork from a clean fork server instead, which has imported
    `preload` once, so later workers start fast."""
    if method is None:
        if sys.platform != "linux":
            method = "spawn"
        elif threading.active_count() == 1:
            method = "fork"
        else:
            method = "forkserver"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver" and preload:
        ctx.set_forkserver_preload(list(preload))
    return ctx


def _signal_name(number: int) -> str:
    try:
        return f"signal {signal.Signals(number).name}"
    except ValueError:
        return f"signal {number}"


def map_isolated(
    worker: Worker,
    fn: Callable[[list[Any]], list[Any]],
    items: list[Any],
    *,
    batch: int = 64,
    timeout: float = 120.0,
) -> list[Any]:
    """`fn` over `items` in batches in `worker`. When the worker dies or hangs on a batch, its
    items are run again one by one (`each_isolated`): the other items still get results."""
    out: list[Any] = []
    for start in range(0, len(items), batch):
        chunk = items[start : start + batch]
        try:
            out.extend(worker.call(fn, chunk).result(timeout=timeout))
        except (WorkerDied, TimeoutError):
            worker.kill()
            out.extend(each_isolated(worker, fn, chunk, timeout=timeout))
    return out


def each_isolated(
    worker: Worker, fn: Callable[[list[Any]], list[Any]], items: list[Any], *, timeout: float
) -> list[Any]:
    """`fn` over each item alone in `worker`, restarted after any death: an item it dies or
    hangs on gives a `WorkerDied` in its place. The worker is left running."""
    out: list[Any] = []
    for item in items:
        if not worker.alive:
            worker.restart()
        try:
            out.extend(worker.call(fn, [item]).result(timeout=timeout))
        except (WorkerDied, TimeoutError) as exc:
            worker.kill()
            out.append(exc if isinstance(exc, WorkerDied) else WorkerDied("the check timed out"))
    if not worker.alive:
        worker.restart()
    return out
