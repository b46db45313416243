"""Per-model throttles: adaptive concurrency (AIMD with pauses) and a requests-per-minute pacer."""

from __future__ import annotations

import asyncio
import time
from collections import deque


class AdaptiveLimiter:
    """A concurrency limit that halves on rate limiting and grows back by one.

    `acquire` returns the current epoch; a 429 only lowers the limit when it belongs to a call
    started in the current epoch, so one burst of 429s halves the limit once, not five times.
    """

    def __init__(self, limit: int) -> None:
        self.max_limit = limit
        self.limit = limit
        self.active = 0
        self.epoch = 0
        self.paused_until = 0.0  # time.monotonic()
        self._successes = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> int:
        while True:
            wait = self.paused_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if self.active < self.limit and not self._waiters:
                self.active += 1
                return self.epoch
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await fut
            finally:
                if fut in self._waiters:
                    self._waiters.remove(fut)
            if self.active < self.limit:
                self.active += 1
                self._wake()
                return self.epoch

    def release(self) -> None:
        self.active -= 1
        self._wake()

    def _wake(self) -> None:
        free = self.limit - self.active
        for fut in list(self._waiters)[: max(free, 0)]:
            if not fut.done():
                fut.set_result(None)
            self._waiters.remove(fut)

    def succeeded(self) -> None:
        if self.limit >= self.max_limit:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            self._wake()

    def rate_limited(self, epoch: int, pause: float) -> None:
        """A 429 for a call started in `epoch`: halve once per epoch, pause `pause` seconds."""
        if epoch == self.epoch:
            self.epoch += 1
            self.limit = max(1, self.limit // 2)
            self._successes = 0
        if pause > 0:
            self.paused_until = max(self.paused_until, time.monotonic() + pause)


class RatePacer:
    """At most `rpm` call starts per minute, evenly spaced (a burst of one)."""

    def __init__(self, rpm: float) -> None:
        self.interval = 60.0 / rpm
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)
