"""The Finding type shared by template lint, code rules and ruff."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule violation at one place. Lines are 1-based, columns 1-based.

    In a sample record, `unit` is the index of the code unit the finding is in.
    """

    code: str
    name: str
    message: str
    line: int
    col: int
    end_line: int
    end_col: int
    severity: Severity = Severity.ERROR
    path: str = ""
    unit: int = 0

    def format_text(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}"
