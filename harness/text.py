"""Text UTF-8 can carry. A lone surrogate (U+D800 to U+DFFF) is valid in JSON (`"\\ud800"`) and in
a Python str, but no UTF-8 file, SQLite TEXT value or pydantic JSON can hold it."""

from __future__ import annotations

import re

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
