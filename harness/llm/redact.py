"""Removing API keys from text before it is shown or recorded (provider error messages)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

_SECRET_ENV = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)", re.IGNORECASE)
_SECRET_SHAPES = re.compile(
    r"(sk-[A-Za-z0-9_\-*]{6,}|(?i:bearer)\s+[^\s'\"]+|(?i:api[_-]?key)[=:]\s*[^\s'\",]+"
    r"|(?i:[?&](?:key|token|access_token|sig|signature|secret|password|code)=)[^&\s'\"]+"
    r"|//[^/@\s:]+:[^/@\s]+@)"  # query credentials and user:password@ in URLs
)


class Redactor:
    """Removes API keys (values of secret-looking env vars, and key shapes) from text."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        values = {v for k, v in env.items() if _SECRET_ENV.search(k) and len(v) >= 8}
        self._values = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, "[redacted]")
        return _SECRET_SHAPES.sub("[redacted]", text)
