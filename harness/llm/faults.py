"""What a failed provider call means: its kind, a key-free message, and whether to retry."""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass
from typing import Any

from harness.llm.redact import Redactor
from harness.llm.types import (
    AUTH,
    BAD_REQUEST,
    CONTEXT_LENGTH,
    NOT_FOUND,
    RATE_LIMIT,
    TIMEOUT,
    TRANSIENT,
    UNREACHABLE,
)


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    message: str
    retry: bool
    retry_after: float | None = None


def retry_after(exc: BaseException) -> float | None:
    """Seconds from a Retry-After header (seconds or HTTP date) on the exception, if any."""
    for source in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
        getattr(exc, "headers", None),
    ):
        if not source:
            continue
        try:
            value = source.get("retry-after") or source.get("Retry-After")
        except AttributeError:
            continue
        if value is None:
            continue
        value = str(value).strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue
        return max(0.0, when.timestamp() - time.time())
    return None


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and the chain of causes under it (litellm wraps httpx wraps OSError)."""
    out: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(out) < 10:
        seen.add(id(current))
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def _unreachable(exc: BaseException) -> str | None:
    """ "connection refused" / "unknown host" when the call never reached a server."""
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        text = str(cause).lower()
        if "connection refused" in text or "errno 111" in text:
            return "connection refused"
        if "name or service not known" in text or "nodename nor servname" in text:
            return "unknown host"
    return None


def where(model: Any) -> str:
    """`alias (host:port)`, naming the server a model's requests go to when there is one."""
    from urllib.parse import urlsplit

    base = getattr(model, "api_base", None)
    if not base:
        return str(model.alias)
    host = urlsplit(base).netloc.rsplit("@", 1)[-1] or base
    return f"{model.alias} ({host})"


def classify(
    exc: BaseException, litellm: Any, redact: Redactor, timeout: float | None = None
) -> Fault:
    """What a failed call means. The message is one line a person can act on: the cause
    ("connection refused", "401 invalid key", "404 model not found", "timed out after
    60 s"), then the provider's own words, without keys."""
    exceptions = litellm.exceptions
    detail = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    if len(detail) > 300:
        detail = detail[:300] + "..."
    status = getattr(exc, "status_code", None)

    def fault(kind: str, cause: str, retry: bool, after: float | None = None) -> Fault:
        return Fault(kind, f"{cause} ({type(exc).__name__}: {detail})", retry, after)

    if isinstance(exc, exceptions.ContextWindowExceededError):
        return fault(CONTEXT_LENGTH, "prompt too long for the model", False)
    if isinstance(exc, exceptions.RateLimitError) or status == 429:
        return fault(RATE_LIMIT, "429 rate limited", True, retry_after(exc))
    if isinstance(exc, exceptions.AuthenticationError) or status == 401:
        return fault(AUTH, "401 invalid key", False)
    if isinstance(exc, exceptions.PermissionDeniedError) or status == 403:
        return fault(AUTH, "403 permission denied", False)
    if isinstance(exc, exceptions.NotFoundError) or status == 404:
        return fault(NOT_FOUND, "404 model not found", False)
    if isinstance(exc, exceptions.Timeout | asyncio.TimeoutError) or status == 408:
        after = f" after {timeout:g} s" if timeout else ""
        return fault(TIMEOUT, f"timed out{after}", True)
    if isinstance(exc, exceptions.BadRequestError | exceptions.UnprocessableEntityError) or (
        isinstance(status, int) and 400 <= status < 500
    ):
        return fault(BAD_REQUEST, f"{status or 400} bad request", False)
    unreachable = _unreachable(exc)
    if unreachable is not None:  # no server answers there: retrying cannot help
        return fault(UNREACHABLE, unreachable, False)
    # 5xx, dropped connections, malformed replies, anything unexpected: transient.
    return fault(TRANSIENT, f"{status} server error" if status else "provider error", True)
