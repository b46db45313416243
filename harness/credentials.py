"""Finding credentials in config and template values, and keeping them out of what is recorded.

API keys belong in the environment variables litellm reads. A key written into `harness.yaml`
or a template would be sent as a request parameter and recorded in the store and `run.json`,
so it is refused wherever it appears: at any depth of model params, headers and extra bodies.
Matching is by key name (words such as key, secret, token, password, authorization and the
providers' credential names) and by value shape (`Bearer ...`, `sk-...`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit, urlunsplit

#: Words that make a parameter name a credential (`api_key`, `x-api-key`, `aws_secret_access_key`,
#: `session_token`, `Authorization`). `max_tokens` is not: "tokens" is not "token".
CREDENTIAL_WORDS = frozenset(
    {
        "apikey",
        "key",
        "secret",
        "token",
        "password",
        "passwd",
        "authorization",
        "auth",
        "credential",
        "credentials",
        "cookie",
        "bearer",
    }
)
#: Whole names that are credentials but whose words are not all in CREDENTIAL_WORDS.
CREDENTIAL_NAMES = frozenset(
    {"azure_ad_token_provider", "vertex_credentials", "private_key_id", "client_secret"}
)
#: Names with a credential word that are not credentials (OpenAI's prompt cache key).
NOT_CREDENTIALS = frozenset({"prompt_cache_key", "cache_key", "idempotency_key"})
_WORD_RE = re.compile(r"[A-Za-z][a-z]*|[A-Z]+(?![a-z])|\d+")
_VALUE_SHAPE = re.compile(r"^\s*(?:bearer\s+\S+|sk-[A-Za-z0-9_\-]{8,}|AKIA[0-9A-Z]{16})", re.I)


def is_credential_name(name: str) -> bool:
    """Whether a parameter or header name names a credential."""
    lowered = name.lower()
    if lowered in NOT_CREDENTIALS:
        return False
    if lowered in CREDENTIAL_NAMES:
        return True
    words = [w.lower() for w in _WORD_RE.findall(name)]
    return any(w in CREDENTIAL_WORDS for w in words) or "apikey" in lowered.replace("-", "")


def find_credentials(value: object, path: str = "") -> Iterator[str]:
    """Dotted paths of credentials in `value`: names at any depth, and secret-shaped strings."""
    stack: list[tuple[object, str]] = [(value, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, dict):
            for key, item in current.items():
                dotted = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and is_credential_name(key):
                    yield dotted
                else:
                    stack.append((item, dotted))
        elif isinstance(current, list | tuple):
            stack.extend((item, f"{where}.{i}") for i, item in enumerate(current))
        elif isinstance(current, str) and _VALUE_SHAPE.match(current):
            yield where or "value"


def url_credentials(url: str) -> list[str]:
    """What in a URL is a credential: its user:password part, or a credential query parameter."""
    parts = urlsplit(url)
    found = ["user:password"] if parts.username or parts.password else []
    found += [f"?{k}=" for k, _ in parse_qsl(parts.query) if is_credential_name(k)]
    return found


def strip_url(url: str | None) -> str | None:
    """A URL as it may be recorded: no user info, no query string, no fragment."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
