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


def classify(exc: BaseException, litellm: Any, redact: Redactor) -> Fault:
    exceptions = litellm.exceptions
    message = redact(f"{type(exc).__name__}: {exc}".strip())
    if len(message) > 500:
        message = message[:500] + "..."
    status = getattr(exc, "status_code", None)
    if isinstance(exc, exceptions.ContextWindowExceededError):
        return Fault(CONTEXT_LENGTH, message, retry=False)
    if isinstance(exc, exceptions.RateLimitError) or status == 429:
        return Fault(RATE_LIMIT, message, retry=True, retry_after=retry_after(exc))
    if isinstance(exc, exceptions.AuthenticationError | exceptions.PermissionDeniedError) or (
        status in (401, 403)
    ):
        return Fault(AUTH, message, retry=False)
    if isinstance(exc, exceptions.NotFoundError) or status == 404:
        return Fault(NOT_FOUND, message, retry=False)
    if isinstance(exc, exceptions.Timeout | asyncio.TimeoutError) or status == 408:
        return Fault(TIMEOUT, message, retry=True)
    if isinstance(exc, exceptions.BadRequestError | exceptions.UnprocessableEntityError) or (
        isinstance(status, int) and 400 <= status < 500
    ):
        return Fault(BAD_REQUEST, message, retry=False)
    # 5xx, connection errors, malformed replies, anything unexpected: transient.
    return Fault(TRANSIENT, message, retry=True)
