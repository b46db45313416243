"""The record format of a store export (`harness store export` / `import`), validated strictly:
every field typed, counts non-negative and within SQLite's 64-bit integers, and names that
UTF-8 can carry."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
