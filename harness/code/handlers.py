"""What an `except` clause does with the error: whether its body swallows it (EXC001, and
EXC002's overlap with it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst
import libcst.matchers as m

from harness.code.matchers import EMPTY_COLLECTION, is_default_value, is_logging_call
from harness.code.names import import_bindings

if TYPE_CHECKING:
    from harness.code.facts import Facts

#: Modules a handler may import just to report the error (`import logging`, then log).
REPORTING_MODULES = frozenset({"logging", "traceback", "sys", "warnings"})
#: Numbers: next to an empty collection they say nothing about what failed (`"total": 0`).
NUMBER = (
    m.Integer()
    | m.Float()
    | m.UnaryOperation(operator=m.Minus(), expression=m.Integer() | m.Float())
)
#: Statements that neither handle nor propagate: `pass`, `continue`, `break`.
NO_OP_STATEMENT = m.Pass() | m.Continue() | m.Break()
#: An expression statement with no effect: `...` or a bare string (a comment in disguise).
NO_OP_EXPRESSION = m.Expr(value=m.Ellipsis() | m.SimpleString() | m.ConcatenatedString())
#: Undoing a transaction or releasing a connection, by method name on any receiver (a
#: guess: `session.rollback()`, `await conn.close()`): cleanup, not recovery.
_CLEANUP_CALL = m.Call(func=m.Attribute(attr=m.Name("rollback") | m.Name("close")), args=())
CLEANUP = m.Expr(value=_CLEANUP_CALL | m.Await(expression=_CLEANUP_CALL))


def is_empty_result(node: cst.BaseExpression | None) -> bool:
    """A default, or a literal tuple / list / dict that holds at least one empty collection
    or `None`, and otherwise only numbers and such literals: an empty page (`{"items": [],
    "total": 0}`, `([], 0)`, `None, None`). Strings and booleans in it may tell the caller
    what failed (`{"ok": False}`), so they make it a real answer."""
    if is_default_value(node):
        return True
    return _empty_shape(node) is True


def _empty_shape(node: cst.BaseExpression | None) -> bool | None:
    """True: empty (an empty collection, `None`, or a literal of them); False: a real
    value; None: a number (neutral)."""
    if node is None or m.matches(node, EMPTY_COLLECTION | m.Name("None")):
        return True
    if m.matches(node, NUMBER):
        return None
    if isinstance(node, cst.Tuple | cst.List):
        parts = [_empty_shape(el.value) for el in node.elements]
    elif isinstance(node, cst.Dict):
        if not all(isinstance(el, cst.DictElement) for el in node.elements):
            return False
        parts = [_empty_shape(el.value) for el in node.elements]  # type: ignore[union-attr]
    else:
        return False
    if any(part is False for part in parts):
        return False
    return True if any(parts) else None


def swallows(body: cst.BaseSuite, facts: Facts) -> bool:
    """Whether a handler body only no-ops, logs, and assigns or returns defaults or empty
    pages. Cleanup calls (`session.rollback()`) are looked through next to such a statement;
    a body of cleanup alone is taken as deliberate."""
    smalls = [
        small
        for stmt in body.body
        for small in (stmt.body if isinstance(stmt, cst.SimpleStatementLine) else [stmt])
    ]
    if smalls and all(m.matches(small, CLEANUP) for small in smalls):
        return False
    for stmt in body.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            if not all(_small_swallows(small, facts) for small in stmt.body):
                return False
        elif isinstance(stmt, cst.If):
            if not _if_swallows(stmt, facts):
                return False
        elif isinstance(stmt, cst.BaseSmallStatement):  # SimpleStatementSuite items
            if not _small_swallows(stmt, facts):
                return False
        else:
            return False
    return True


def _if_swallows(node: cst.If, facts: Facts) -> bool:
    if not swallows(node.body, facts):
        return False
    orelse = node.orelse
    if isinstance(orelse, cst.If):
        return _if_swallows(orelse, facts)
    if isinstance(orelse, cst.Else):
        return swallows(orelse.body, facts)
    return True


def _small_swallows(node: cst.BaseSmallStatement, facts: Facts) -> bool:
    if m.matches(node, NO_OP_STATEMENT | NO_OP_EXPRESSION | CLEANUP):
        return True
    if isinstance(node, cst.Import | cst.ImportFrom):  # `import logging`, then it logs
        modules = [full.split(".", 1)[0] for _, full in import_bindings(node, None)]
        return bool(modules) and all(name in REPORTING_MODULES for name in modules)
    if isinstance(node, cst.Return):
        return is_empty_result(node.value)
    if isinstance(node, cst.Expr):
        return is_logging_call(node.value, facts)
    if isinstance(node, cst.Assign):
        return is_empty_result(node.value) and all(
            isinstance(t.target, cst.Name) for t in node.targets
        )
    if isinstance(node, cst.AnnAssign):
        return isinstance(node.target, cst.Name) and is_empty_result(node.value)
    return False
