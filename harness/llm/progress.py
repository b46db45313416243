"""Run progress: a rich bar on a terminal, plain lines otherwise, or nothing."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from harness.llm.types import Response

PLAIN_EVERY_SECONDS = 5.0
PLAIN_EVERY_FRACTION = 0.10


class ProgressSink(Protocol):
    def update(self, resp: Response, cost: float) -> None: ...

    def message(self, text: str) -> None: ...

    def close(self) -> None: ...


class _Counts:
    def __init__(self, total: int | None) -> None:
        self.total = total
        self.n = 0
        self.cached = 0
        self.errors = 0
        self.cost = 0.0
        self.started = time.monotonic()

    def add(self, resp: Response, cost: float) -> None:
        self.n += 1
        self.cached += resp.cached
        self.errors += not resp.ok
        self.cost = cost

    def line(self) -> str:
        of = f"/{self.total}" if self.total else ""
        text = (
            f"{self.n}{of} done, {self.cached} cached, {self.errors} errors, cost {self.cost:.4f}"
        )
        elapsed = time.monotonic() - self.started
        if self.total and self.n:
            left = elapsed / self.n * (self.total - self.n)
            text += f", eta {left:.0f}s"
        return text


class NullProgress:
    """No progress output; messages still go to the stream."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def update(self, resp: Response, cost: float) -> None:
        pass

    def message(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        pass


class PlainProgress(NullProgress):
    """A line every 10% (known total) or every few seconds."""

    def __init__(self, stream: TextIO, total: int | None) -> None:
        super().__init__(stream)
        self.counts = _Counts(total)
        self._next_time = time.monotonic() + PLAIN_EVERY_SECONDS
        self._step = max(1, int(total * PLAIN_EVERY_FRACTION)) if total else 0
        self._next_n = self._step

    def update(self, resp: Response, cost: float) -> None:
        c = self.counts
        c.add(resp, cost)
        now = time.monotonic()
        if (self._step and c.n >= self._next_n) or now >= self._next_time:
            self._next_n = (c.n // self._step + 1) * self._step if self._step else 0
            self._next_time = now + PLAIN_EVERY_SECONDS
            self.message(f"progress: {c.line()}")

    def close(self) -> None:
        if self.counts.n:
            self.message(f"progress: {self.counts.line()}")


class RichProgress:
    """A rich progress bar: done, cached, errors, cost so far, ETA."""

    def __init__(self, stream: TextIO, total: int | None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.counts = _Counts(total)
        self.console = Console(file=stream)
        self.bar = Progress(
            TextColumn("calls"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
            refresh_per_second=5,
        )
        self.task: Any = self.bar.add_task("calls", total=total, info="")
        self.bar.start()

    def update(self, resp: Response, cost: float) -> None:
        c = self.counts
        c.add(resp, cost)
        info = f"cached {c.cached}  errors {c.errors}  cost {c.cost:.4f}"
        self.bar.update(self.task, completed=c.n, info=info)

    def message(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self.bar.stop()


def make_progress(enabled: bool | None, total: int | None, stream: TextIO) -> ProgressSink:
    """None: a bar when `stream` is a terminal, plain lines otherwise. False: none."""
    if enabled is False:
        return NullProgress(stream)
    isatty = getattr(stream, "isatty", lambda: False)()
    if isatty:
        return RichProgress(stream, total)
    return PlainProgress(stream, total)
