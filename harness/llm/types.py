"""Wire types of model calls: what the runner is asked, what it answers, and the request key.

Shared by the runner, the store and the progress display; nothing here calls a provider.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.config import ModelConfig
from harness.text import LONE_SURROGATE

# error_kind values a Response can carry.
RATE_LIMIT = "rate-limit"  # 429 after every attempt
TRANSIENT = "transient"  # 5xx, connection error, malformed reply, after every attempt
UNREACHABLE = "unreachable"  # connection refused / unknown host: the model is stopped
TIMEOUT = "timeout"  # no answer within limits.timeout, after every attempt
AUTH = "auth"  # 401/403: the model is stopped for the rest of the run
NOT_FOUND = "not-found"  # 404 / unknown model: the model is stopped for the rest of the run
CONTEXT_LENGTH = "context-length"  # prompt too long for the model: this request only
BAD_REQUEST = "bad-request"  # other 4xx: this request only
EMPTY = "empty"  # the reply had no content (twice)
BUDGET = "budget"  # not called: max_cost reached
NOT_RECORDED = "not-recorded"  # offline and the store has no answer


def request_key(
    model: str, messages: Sequence[Mapping[str, str]], params: Mapping[str, Any], sample: int
) -> str:
    """sha256 hex of the canonical JSON of (model string, messages, params, sample index)."""
    doc = {
        "model": model,
        "messages": [dict(m) for m in messages],
        "params": dict(params),
        "sample": sample,
    }
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # surrogatepass: a lone surrogate (valid in JSON) keys deterministically; other text
    # encodes exactly as UTF-8, so keys do not change
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _message_dict(m: Any) -> dict[str, str]:
    if hasattr(m, "as_dict"):
        return dict(m.as_dict())
    return {"role": str(m["role"]), "content": str(m["content"])}


@dataclass(frozen=True, slots=True)
class Request:
    """One call to make. `params` are the effective call params (template's, then the
    model config's on top); `tag` is opaque, for the caller."""

    model: ModelConfig
    messages: tuple[dict[str, str], ...]
    params: Mapping[str, Any]
    sample: int
    key: str
    tag: object = field(default=None, compare=False)

    @classmethod
    def make(
        cls,
        model: ModelConfig,
        messages: Iterable[Any],
        params: Mapping[str, Any] | None = None,
        sample: int = 0,
        tag: object = None,
    ) -> Request:
        msgs = tuple(_message_dict(m) for m in messages)
        effective = {**(params or {}), **model.params}
        return cls(
            model, msgs, effective, sample, request_key(model.model, msgs, effective, sample), tag
        )


@dataclass(frozen=True, slots=True)
class Response:
    key: str
    text: str | None
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    latency_ms: float
    provider_model: str | None
    cached: bool
    error: str | None
    error_kind: str | None

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failed(cls, key: str, kind: str, error: str, latency_ms: float = 0.0) -> Response:
        return cls(key, None, None, 0, 0, None, latency_ms, None, False, error, kind)

    def with_valid_text(self) -> Response:
        """The same answer with text UTF-8 can carry: a lone surrogate (valid in JSON, and
        kept as is by the store) becomes U+FFFD for the records and reports downstream."""
        if self.text is None or LONE_SURROGATE.search(self.text) is None:
            return self
        return dataclasses.replace(self, text=LONE_SURROGATE.sub("\ufffd", self.text))

    def as_cached(self) -> Response:
        """The same answer, as the store gives it back."""
        return dataclasses.replace(self, cached=True)


@dataclass(frozen=True)
class RunStats:
    """`total` requests reported; `errors` counts every non-ok one, `not_recorded` and
    `skipped_budget` included. `not_recorded_keys` are (model alias, key) pairs."""

    total: int
    done: int
    cached: int
    errors: int
    not_recorded: int
    cost: float
    interrupted: bool
    skipped_budget: int
    not_recorded_keys: tuple[tuple[str, str], ...] = ()
    stopped_models: tuple[tuple[str, str], ...] = ()  # (alias, reason)
    budget_exhausted: bool = False
