"""Base class for code rules: one small class per file, visited in one batched pass.

A rule defines `visit_<Node>` / `leave_<Node>` methods like a libcst visitor and calls
`self.report(node)`. It never walks the tree itself and never reads source text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import libcst as cst

from harness.code.unit import Role
from harness.registry import RuleBase

if TYPE_CHECKING:
    from harness.code.context import UnitContext
    from harness.code.facts import Facts


class CodeRule(RuleBase):
    """A check over one parsed code unit."""

    #: Roles the rule applies to; empty means every role.
    roles: ClassVar[frozenset[Role]] = frozenset()

    def __init__(self, ctx: UnitContext) -> None:
        self.ctx = ctx
        self.facts: Facts = ctx.facts
        self.settings = ctx.settings

    @classmethod
    def applies_to(cls, facts: Facts) -> bool:
        """Whether the rule is applicable to the unit at all (used for scoring)."""
        return not cls.roles or facts.role in cls.roles

    @property
    def ancestors(self) -> list[cst.CSTNode]:
        """Nodes enclosing the one being visited, outermost first (the node itself last)."""
        return self.ctx.stack

    def report(self, node: cst.CSTNode, message: str | None = None) -> None:
        self.ctx.report(self, node, message or self.message)

    def site(self) -> None:
        """Record that the rule checked one subject here (a model, a handler, a call): the
        rule applies to the unit only where it checked something."""
        sites = self.ctx.sites
        sites[self.code] = sites.get(self.code, 0) + 1
