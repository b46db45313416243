"""Shards: a deterministic split of the work so N CI jobs can run one matrix."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from harness.errors import ConfigError

_SHARD_RE = re.compile(r"^(\d+)/(\d+)$")


@dataclass(frozen=True, slots=True)
class Shard:
    index: int  # 1-based
    total: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = _SHARD_RE.match(text.strip())
        if not match:
            raise ConfigError(f"bad shard {text!r}", hint="use i/N, e.g. --shard 1/4")
        index, total = int(match.group(1)), int(match.group(2))
        if total < 1 or not 1 <= index <= total:
            raise ConfigError(f"bad shard {text!r}", hint="i must be between 1 and N")
        return cls(index, total)

    def owns(self, template: str, case: str, model: str, sample: int) -> bool:
        """Whether this shard runs that sample. Stable across machines and Python runs."""
        if self.total == 1:
            return True
        blob = f"{template}\0{case}\0{model}\0{sample}".encode()
        bucket = int.from_bytes(hashlib.sha256(blob).digest()[:8], "big") % self.total
        return bucket == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"
