"""The record format of a store export (`harness store export` / `import`), validated strictly:
every field typed, counts non-negative and within SQLite's 64-bit integers, and names that
UTF-8 can carry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import StoreError
from harness.llm.types import request_key
from harness.text import LONE_SURROGATE

_INT64 = 2**63 - 1  # SQLite's INTEGER


class _StoredResponse(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    text: str
    finish_reason: str | None = None
    prompt_tokens: int = Field(default=0, ge=0, le=_INT64)
    completion_tokens: int = Field(default=0, ge=0, le=_INT64)
    cost: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    latency_ms: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    provider_model: str | None = None

    @field_validator("cost", "latency_ms", mode="before")
    @classmethod
    def _int_is_a_number(cls, v: object) -> object:
        return float(v) if isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**53 else v

    @field_validator("finish_reason", "provider_model")
    @classmethod
    def _valid_text(cls, v: str | None) -> str | None:
        return _no_surrogate(v)


class StoreRecord(BaseModel):
    """One line of a store export (`harness store export`)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    key: str | None = None
    model: str
    messages: list[dict[str, str]]
    params: dict[str, Any]
    sample: int = Field(ge=0, le=_INT64)
    response: _StoredResponse

    @field_validator("key", "model")
    @classmethod
    def _valid_text(cls, v: str | None) -> str | None:
        return _no_surrogate(v)


def _no_surrogate(v: str | None) -> str | None:
    if v is not None and LONE_SURROGATE.search(v):
        raise ValueError("holds a lone surrogate, which UTF-8 cannot encode")
    return v


def problem_text(err: Any) -> str:
    """One pydantic error as `field.path: message`."""
    where = ".".join(str(p) for p in err.get("loc", ())) or "record"
    return f"{where}: {err.get('msg', 'invalid')}"


def read_records(path: str | Path) -> list[tuple[str, StoreRecord]]:
    """Every record of a JSONL export with its request key, validated. Any invalid line
    raises StoreError listing each one (`file:line: problem`)."""
    src = Path(path)
    try:
        lines = src.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StoreError(f"cannot read {src}: {exc.strerror}", path=str(src)) from None
    except UnicodeDecodeError as exc:
        raise StoreError(f"not UTF-8 text: {exc.reason}", path=str(src), line=1) from None
    records: list[tuple[str, StoreRecord]] = []
    problems: list[str] = []
    first: int | None = None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:  # json.loads keeps lone-surrogate escapes, which an export may hold
            rec = StoreRecord.model_validate(json.loads(line))
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, or a huge integer
            if isinstance(exc, ValidationError):
                problems += [f"{src}:{lineno}: {problem_text(err)}" for err in exc.errors()[:5]]
            else:
                problems.append(f"{src}:{lineno}: not a JSON record: {exc}")
            first = first or lineno
            continue
        key = request_key(rec.model, [dict(m) for m in rec.messages], rec.params, rec.sample)
        if rec.key is not None and rec.key != key:
            problems.append(
                f"{src}:{lineno}: record key does not match its model/messages/params/sample"
                " (edited by hand? re-export it from a store)"
            )
            first = first or lineno
            continue
        records.append((key, rec))
    if problems:
        shown = "\n".join(problems[:50])
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise StoreError(
            f"{len(problems)} invalid record{'s' if len(problems) != 1 else ''},"
            f" nothing imported:\n{shown}{more}",
            path=str(src),
            line=first,
        )
    return records
