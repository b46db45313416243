"""Per-unit state the rules share during the batched pass: the facts, the settings, the
stack of nodes being visited, and the reports made so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import libcst as cst

from harness.code.facts import Facts
from harness.config import RulesConfig


class RuleLike(Protocol):
    """What the context needs of the rule that reports: its identity and severity."""

    code: ClassVar[str]
    name: ClassVar[str]
    message: ClassVar[str]
    severity: ClassVar[str]


# Nodes whose start line Python's parser gives: where position resolution can start.
HOLDERS = (
    cst.SimpleStatementLine,
    cst.BaseCompoundStatement,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
)


@dataclass(slots=True)
class Report:
    rule: RuleLike
    node: cst.CSTNode
    message: str
    holder: cst.CSTNode | None  # the innermost statement or except clause holding `node`


@dataclass(slots=True)
class UnitContext:
    """Per-unit state shared by the rules during the pass."""

    facts: Facts
    settings: RulesConfig = field(default_factory=RulesConfig)
    stack: list[cst.CSTNode] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    # How many subjects (models, handlers, columns, calls) each rule checked: a rule with
    # none does not apply to the unit.
    sites: dict[str, int] = field(default_factory=dict)
    # Reports of nodes the walk has not reached yet: it sets their holder when it does.
    pending: dict[int, list[Report]] = field(default_factory=dict)

    def report(self, rule: RuleLike, node: cst.CSTNode, message: str) -> None:
        stack = self.stack
        i = len(stack) - 1
        while i >= 0 and stack[i] is not node:  # a rule may report an enclosing node
            i -= 1
        rep = Report(rule, node, message, holder(stack, len(stack) - 1 if i < 0 else i))
        self.reports.append(rep)
        if i < 0:  # usually a descendant of the visited node
            self.pending.setdefault(id(node), []).append(rep)


def holder(stack: list[cst.CSTNode], i: int) -> cst.CSTNode | None:
    """The innermost statement or except clause in `stack[1 : i + 1]`."""
    while i > 0:
        if isinstance(stack[i], HOLDERS):
            return stack[i]
        i -= 1
    return None
