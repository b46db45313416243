"""Rule base classes, one per kind of subject a rule checks.

Each base finds its subject (a Pydantic model, a declarative model, an exception handler, a
call to one of some functions) and calls one method with it, so a rule file holds only what
it checks about that subject.
"""

from __future__ import annotations

from functools import cached_property
from typing import ClassVar

import libcst as cst

from harness.code.facts import ClassInfo, ClassKind
from harness.code.matchers import callee_tail, declarative_class, local_aliases
from harness.code.models import pydantic_model
from harness.code.rule import CodeRule


class PydanticModelRule(CodeRule):
    """Checks each class the facts know as a Pydantic model (through bases and aliases)."""

    #: Whether SQLModel `table=True` classes are checked too (they are ORM rows as well).
    checks_sqlmodel_tables: ClassVar[bool] = True

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        info = pydantic_model(node, self.facts)
        if info is None:
            return
        if not self.checks_sqlmodel_tables and info.kind is ClassKind.SQLMODEL_TABLE:
            return
        if self.selects(node, info):
            self.site()
            self.check_model(node, info)

    def selects(self, node: cst.ClassDef, info: ClassInfo) -> bool:
        """Whether the rule checks this model at all (its subject: e.g. update models)."""
        return True

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        raise NotImplementedError


class DeclarativeModelRule(CodeRule):
    """Checks each SQLAlchemy declarative class whose attributes are mapped: a model, a
    declarative base, or a local mixin of one (not SQLModel tables)."""

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        info = declarative_class(node, self.facts)
        if info is not None:
            self.site()
            self.check_model(node, info)

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        raise NotImplementedError


Handler = cst.ExceptHandler | cst.ExceptStarHandler


class ExceptHandlerRule(CodeRule):
    """Checks each `except` clause, `except*` included."""

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self.site()
        self.check_handler(node)

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        self.site()
        self.check_handler(node)

    def check_handler(self, node: Handler) -> None:
        raise NotImplementedError


class CallRule(CodeRule):
    """Checks each call of one of `callees` (qualified names), under any import alias.

    A call is first filtered by the last name of its callee (`relationship`, or a local
    alias of a callee), so most calls cost one set lookup; only those are resolved.
    """

    callees: ClassVar[frozenset[str]]

    @cached_property
    def _callee_names(self) -> frozenset[str]:
        tails = frozenset(name.rsplit(".", 1)[-1] for name in self.callees)
        return tails | local_aliases(self.facts, self.callees)

    def visit_Call(self, node: cst.Call) -> None:
        if callee_tail(node) not in self._callee_names:
            return
        callee = self.facts.resolve(node.func)
        if callee in self.callees:
            self.site()
            self.check_call(node, callee)

    def check_call(self, node: cst.Call, callee: str) -> None:
        raise NotImplementedError
