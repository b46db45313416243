"""Walking libcst trees without libcst's visitor machinery: the child fields of each node
class (no whitespace or punctuation), found once per class."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import libcst as cst

_SKIP_FIELDS = frozenset(
    {
        "whitespace_before",
        "whitespace_after",
        "whitespace_before_colon",
        "whitespace_after_colon",
        "whitespace_before_params",
        "whitespace_after_def",
        "whitespace_after_async",
        "whitespace_after_class",
        "whitespace_after_at",
        "whitespace_after_await",
        "whitespace_after_star",
        "whitespace_after_arg",
        "whitespace_after_param",
        "whitespace_after_from",
        "whitespace_after_import",
        "whitespace_after_cases",
        "whitespace_after_in",
        "whitespace_after_for",
        "whitespace_after_while",
        "whitespace_after_with",
        "whitespace_after_except",
        "whitespace_after_if",
        "whitespace_after_lambda",
        "whitespace_after_return",
        "whitespace_after_match",
        "whitespace_after_case",
        "whitespace_after_global",
        "whitespace_after_nonlocal",
        "whitespace_after_raise",
        "whitespace_after_yield",
        "whitespace_after_del",
        "whitespace_after_assert",
        "whitespace_after_type",
        "whitespace_after_name",
        "whitespace_after_equal",
        "whitespace_before_equal",
        "whitespace_after_kwds",
        "whitespace_after_indicator",
        "whitespace_before_indicator",
        "whitespace_before_expression",
        "whitespace_before_in",
        "whitespace_before_if",
        "whitespace_before_else",
        "whitespace_before_from",
        "whitespace_before_as",
        "whitespace_before_args",
        "whitespace",
        "lpar",
        "rpar",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "trailing_whitespace",
        "comma",
        "semicolon",
        "colon",
        "equal",
        "dot",
        "star",
        "star_arg",
        "operator",
        "asynchronous",
        "newline",
        "indent",
        "first_line",
        "empty_lines",
        "last_line",
    }
)
TRIVIA = (
    cst.BaseParenthesizableWhitespace,
    cst.EmptyLine,
    cst.TrailingWhitespace,
    cst.Comment,
    cst.Newline,
)
_FIELDS: dict[type, tuple[str, ...]] = {}


def child_fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in _SKIP_FIELDS  # type: ignore[arg-type]
        )
        _FIELDS[cls] = names
    return names


SKIP, NODE, SEQUENCE = 0, 1, 2
KINDS: dict[type, int] = {}  # value type -> how the walk treats it (no ABC isinstance per value)


def kind_of(cls: type) -> int:
    kind = KINDS.get(cls)
    if kind is None:
        if issubclass(cls, cst.CSTNode):
            kind = SKIP if issubclass(cls, TRIVIA) else NODE
        else:
            kind = SEQUENCE if issubclass(cls, tuple | list) else SKIP
        KINDS[cls] = kind
    return kind


def children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The child nodes `walk` would visit, in field order (cheaper than `node.children`,
    which rebuilds the node through a visitor)."""
    for name in child_fields(type(node)):
        value = getattr(node, name)
        kind = KINDS.get(type(value))
        if kind is None:
            kind = kind_of(type(value))
        if kind == NODE:
            yield value
        elif kind == SEQUENCE:
            for item in value:
                item_kind = KINDS.get(type(item))
                if item_kind is None:
                    item_kind = kind_of(type(item))
                if item_kind == NODE:
                    yield item
