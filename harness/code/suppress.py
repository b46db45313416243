"""`# harness: ignore` and `# harness: ignore[CODE, ...]` comments, for our rules and ruff's."""

from __future__ import annotations

import re

SUPPRESS_RE = re.compile(r"#\s*harness:\s*ignore(?:\[([A-Za-z0-9_,:\s-]+)\])?")


def is_suppressed(line_text: str, code: str) -> bool:
    """True when the line carries a bare ignore, or one that names `code` (`EXC001`,
    `ruff:F401`; case-insensitive)."""
    if "harness" not in line_text:
        return False
    wanted = code.upper()
    for match in SUPPRESS_RE.finditer(line_text):
        codes = match.group(1)
        if codes is None or wanted in {c.strip().upper() for c in codes.split(",")}:
            return True
    return False
