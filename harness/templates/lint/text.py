"""Prompt-text helpers shared by template rules: list items, the RULES list, code masking."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: A bullet or numbered list item: `- text`, `* text`, `1. text`, `2) text`.
LIST_ITEM = re.compile(r"^\s*(?:[-*\u2022+]|\d{1,3}[.)])\s+(?P<text>\S.*)$")
#: The heading that opens the list of explicit rules: `RULES:`, `## Constraints`, ...
RULES_HEADING = re.compile(
    r"^\s*(?:#{1,6}\s*)?(?:\*\*)?(?:rules|constraints|requirements)\b[^\n]{0,60}$",
    re.IGNORECASE,
)
#: A Jinja expression, statement or comment inside one line.
JINJA_MARKUP = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")
_FENCE = re.compile(r"^\s*(```|~~~).*?^\s*\1[^\n]*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ListItem:
    rel_line: int  # 1-based line inside the text
    text: str


def normalize(text: str) -> str:
    """Collapse whitespace, drop a trailing period and case, for comparing instructions."""
    item = LIST_ITEM.match(text)
    if item and "\n" not in text.strip():
        text = item.group("text")
    return _SPACE.sub(" ", text).strip().rstrip(".").strip().casefold()


def list_items(text: str) -> list[ListItem]:
    return [
        ListItem(i, m.group("text"))
        for i, line in enumerate(text.splitlines(), start=1)
        if (m := LIST_ITEM.match(line))
    ]


def rules_list(text: str) -> list[ListItem]:
    """Items of the list that follows a RULES / Constraints / Requirements heading."""
    items: list[ListItem] = []
    inside = False
    started = False
    for i, line in enumerate(text.splitlines(), start=1):
        if not inside:
            if RULES_HEADING.match(line) and not LIST_ITEM.match(line):
                inside = True
            continue
        m = LIST_ITEM.match(line)
        if m:
            items.append(ListItem(i, m.group("text")))
            started = True
        elif not line.strip() and not started:
            continue
        elif line.startswith((" ", "\t")) and started and line.strip():
            continue  # continuation of the previous item
        elif not line.strip():
            continue
        else:
            inside = False
            started = False
    return items


def mask_code(text: str) -> str:
    """Blank out fenced code blocks and inline code (keeping line breaks and offsets)."""

    def blank(m: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))

    return _INLINE_CODE.sub(blank, _FENCE.sub(blank, text))


def item_pattern(item: str) -> re.Pattern[str]:
    """A pattern for a list item whose Jinja expressions may render to anything."""
    parts = JINJA_MARKUP.split(normalize(item))
    return re.compile(".+?".join(re.escape(p) for p in parts))
