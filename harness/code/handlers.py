"""What an `except` clause does with the error: whether its body swallows it (EXC001, and
EXC002's overlap with it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst
import libcst.matchers as m

from harness.code.matchers import is_default_value, is_logging_call
from harness.code.names import import_bindings

if TYPE_CHECKING:
    from harness.code.facts import Facts

#: Modules a handler may import just to report the error (`import logging`, then log).
REPORTING_MODULES = frozenset({"logging", "traceback", "sys", "warnings"})
#: Statements that neither handle nor propagate: `pass`, `continue`, `break`.
NO_OP_STATEMENT = m.Pass() | m.Continue() | m.Break()
#: An expression statement with no effect: `...` or a bare string (a comment in disguise).
NO_OP_EXPRESSION = m.Expr(value=m.Ellipsis() | m.SimpleString() | m.ConcatenatedString())


def swallows(body: cst.BaseSuite, facts: Facts) -> bool:
    """Whether a handler body only no-ops, logs, and assigns or returns defaults."""
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
    if m.matches(node, NO_OP_STATEMENT | NO_OP_EXPRESSION):
        return True
    if isinstance(node, cst.Import | cst.ImportFrom):  # `import logging`, then it logs
        modules = [full.split(".", 1)[0] for _, full in import_bindings(node, None)]
        return bool(modules) and all(name in REPORTING_MODULES for name in modules)
    if isinstance(node, cst.Return):
        return is_default_value(node.value)
    if isinstance(node, cst.Expr):
        return is_logging_call(node.value, facts)
    if isinstance(node, cst.Assign):
        return is_default_value(node.value) and all(
            isinstance(t.target, cst.Name) for t in node.targets
        )
    if isinstance(node, cst.AnnAssign):
        return isinstance(node.target, cst.Name) and is_default_value(node.value)
    return False
