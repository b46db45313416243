"""A time limit on a block of pure-Python work, by a real-time timer (SIGALRM).

It works in the main thread of a process (elsewhere it is a no-op), interrupts Python code
between bytecodes (not one long C call), and resumes a caller's own timer afterwards.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator


class Expired(BaseException):
    """Raised in the block when its time is up; a BaseException so that code inside the
    block (a rule, a template) cannot swallow it. Callers turn it into their own error."""


def available() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise Expired in the block once it has run `seconds`."""
    if seconds <= 0 or not available():
        yield
        return
    armed = [True]

    def expire(signum: int, frame: object) -> None:
        if armed[0]:  # not once the block is over
            raise Expired

    previous = signal.signal(signal.SIGALRM, expire)
    outer, _ = signal.getitimer(signal.ITIMER_REAL)  # a caller's timer, resumed after
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer) if outer else seconds)
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-3))
