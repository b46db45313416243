"""Facts pre-pass: import aliases, class kinds and response models, computed once per unit.

Rules ask these facts instead of guessing from names: `BM` resolves to `pydantic.BaseModel`
when the unit says `from pydantic import BaseModel as BM`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

import libcst as cst

from harness.code.unit import Role


class ClassKind(StrEnum):
    PYDANTIC = "pydantic"  # pydantic BaseModel (or SQLModel without table=True)
    SQLA_BASE = "sqlalchemy-base"  # the declarative base itself
    SQLA_MODEL = "sqlalchemy-model"  # a mapped ORM class
    SQLMODEL_TABLE = "sqlmodel-table"  # SQLModel with table=True: both ORM and pydantic
    OTHER = "other"


PYDANTIC_BASES = frozenset(
    {
        "pydantic.BaseModel",
        "pydantic.main.BaseModel",
        "pydantic.RootModel",
        "pydantic.root_model.RootModel",
        "pydantic.v1.BaseModel",
        "pydantic_settings.BaseSettings",
        "pydantic.BaseSettings",
        "sqlmodel.SQLModel",
    }
)
DECLARATIVE_BASES = frozenset(
    {
        "sqlalchemy.orm.DeclarativeBase",
        "sqlalchemy.orm.DeclarativeBaseNoMeta",
        "sqlalchemy.orm.decl_api.DeclarativeBase",
        "sqlalchemy.ext.asyncio.AsyncAttrs",
    }
)
DECLARATIVE_BASE_FACTORIES = frozenset(
    {
        "sqlalchemy.orm.declarative_base",
        "sqlalchemy.ext.declarative.declarative_base",
        "sqlalchemy.orm.decl_api.declarative_base",
    }
)
#: Flask-SQLAlchemy: `db = SQLAlchemy(app)` exposes `sqlalchemy` and `sqlalchemy.orm` names as
#: attributes (`db.Column`, `db.relationship`), `db.Model` (a declarative base) and `db.session`.
FLASK_SQLALCHEMY = frozenset(
    {"flask_sqlalchemy.SQLAlchemy", "flask_sqlalchemy.extension.SQLAlchemy"}
)
FLASK_MODEL = "flask_sqlalchemy.SQLAlchemy.Model"
FLASK_SESSION = "flask_sqlalchemy.SQLAlchemy.session"
#: The `sqlalchemy.orm` names among them; every other attribute is a `sqlalchemy` name.
SQLALCHEMY_ORM_NAMES = frozenset(
    {
        "Mapped",
        "mapped_column",
        "relationship",
        "relation",
        "backref",
        "dynamic_loader",
        "declared_attr",
        "column_property",
        "composite",
        "synonym",
        "deferred",
        "query_expression",
        "validates",
        "aliased",
        "joinedload",
        "selectinload",
        "subqueryload",
        "lazyload",
        "noload",
        "raiseload",
        "contains_eager",
        "load_only",
        "defer",
        "undefer",
        "with_expression",
        "foreign",
        "remote",
        "Session",
        "scoped_session",
        "sessionmaker",
        "DeclarativeBase",
    }
)
ORM_COLUMN_CALLS = frozenset(
    {"sqlalchemy.Column", "sqlalchemy.schema.Column", "sqlalchemy.orm.mapped_column"}
)


@dataclass(frozen=True, slots=True)
class ClassInfo:
    name: str
    node: cst.ClassDef
    bases: tuple[str | None, ...]
    kind: ClassKind

    @property
    def is_pydantic(self) -> bool:
        return self.kind in (ClassKind.PYDANTIC, ClassKind.SQLMODEL_TABLE)

    @property
    def is_orm(self) -> bool:
        return self.kind in (ClassKind.SQLA_MODEL, ClassKind.SQLMODEL_TABLE)


@dataclass(slots=True)
class Facts:
    """What a rule may ask about the unit, beyond the node in hand."""

    role: Role = Role.OTHER
    path: str = "<unit>"
    imports: dict[str, str] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    by_node: dict[int, ClassInfo] = field(default_factory=dict)
    # Per-unit memo for derived facts rules share (e.g. a model's fields), keyed by helper.
    memo: dict[tuple[str, int], object] = field(default_factory=dict)
    response_models: frozenset[str] = frozenset()
    base_factories: frozenset[str] = frozenset()  # names bound to declarative_base()
    # local classes of kind OTHER whose attributes are mapped columns of ORM classes
    orm_mixins: frozenset[str] = frozenset()
    # names of Flask-SQLAlchemy instances: `db = SQLAlchemy()` here, or an imported `db`
    flask_db: frozenset[str] = frozenset()

    def resolve(self, node: cst.BaseExpression | None) -> str | None:
        """Dotted name an expression refers to, through import aliases; None if not a name."""
        if isinstance(node, cst.Name):
            return self.imports.get(node.value, node.value)
        if isinstance(node, cst.Attribute):
            if isinstance(node.value, cst.Name) and node.value.value in self.flask_db:
                return _flask_attribute(node.attr.value)
            base = self.resolve(node.value)
            return None if base is None else f"{base}.{node.attr.value}"
        return None

    def resolve_call(self, node: cst.BaseExpression) -> str | None:
        """Dotted name of the callee, when `node` is a call."""
        return self.resolve(node.func) if isinstance(node, cst.Call) else None

    def imported(self, local: str) -> bool:
        return local in self.imports

    def class_info(self, node: cst.ClassDef) -> ClassInfo | None:
        return self.by_node.get(id(node))

    def pydantic_class(self, name: str) -> ClassInfo | None:
        info = self.classes.get(name)
        return info if info is not None and info.is_pydantic else None


def _flask_attribute(attr: str) -> str:
    """What `db.<attr>` is on a Flask-SQLAlchemy instance."""
    if attr == "Model":
        return FLASK_MODEL
    if attr == "session":
        return FLASK_SESSION
    return f"sqlalchemy.orm.{attr}" if attr in SQLALCHEMY_ORM_NAMES else f"sqlalchemy.{attr}"


def _dotted(node: cst.BaseExpression | cst.ImportAlias) -> str:
    if isinstance(node, cst.ImportAlias):
        return _dotted(node.name)
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def iter_statements(body: cst.BaseSuite | cst.Module) -> Iterator[cst.CSTNode]:
    """Every statement, recursively through compound statement bodies (not expressions)."""
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Module | cst.IndentedBlock):
            stack.extend(reversed(node.body))
        elif isinstance(node, cst.SimpleStatementSuite | cst.SimpleStatementLine):
            yield from node.body
        elif isinstance(node, cst.Match):
            yield node
            stack.extend(case.body for case in reversed(node.cases))
        elif isinstance(node, cst.BaseCompoundStatement):
            yield node
            stack.append(node.body)
            for attr in ("orelse", "finalbody"):
                extra = getattr(node, attr, None)
                if isinstance(extra, cst.Else | cst.Finally):
                    stack.append(extra.body)
                elif isinstance(extra, cst.If):
                    stack.append(extra)
            for handler in getattr(node, "handlers", ()):
                stack.append(handler.body)


def _response_model_names(call: cst.Call) -> Iterator[str]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "response_model":
            stack: list[cst.CSTNode] = [arg.value]
            while stack:
                node = stack.pop()
                if isinstance(node, cst.Name):
                    yield node.value
                elif isinstance(node, cst.Subscript):
                    stack.append(node.value)
                    stack.extend(el.slice for el in node.slice)
                elif isinstance(node, cst.Index):
                    stack.append(node.value)
                elif isinstance(node, cst.BinaryOperation):
                    stack.extend((node.left, node.right))


def _body_looks_mapped(node: cst.ClassDef, facts: Facts) -> bool:
    for stmt in iter_statements(node.body):
        if isinstance(stmt, cst.Assign):
            for target in stmt.targets:
                if isinstance(target.target, cst.Name) and target.target.value == "__tablename__":
                    return True
            if facts.resolve_call(stmt.value) in ORM_COLUMN_CALLS:
                return True
        if isinstance(stmt, cst.AnnAssign):
            if stmt.value is not None and facts.resolve_call(stmt.value) in ORM_COLUMN_CALLS:
                return True
            ann = stmt.annotation.annotation
            if isinstance(ann, cst.Subscript) and facts.resolve(ann.value) in (
                "sqlalchemy.orm.Mapped",
                "sqlalchemy.orm.base.Mapped",
            ):
                return True
    return False


def _has_table_true(node: cst.ClassDef) -> bool:
    return any(
        kw.keyword is not None
        and kw.keyword.value == "table"
        and isinstance(kw.value, cst.Name)
        and kw.value.value == "True"
        for kw in node.keywords
    )


def _is_abstract(node: cst.ClassDef) -> bool:
    for stmt in iter_statements(node.body):
        if isinstance(stmt, cst.Assign) and any(
            isinstance(t.target, cst.Name) and t.target.value == "__abstract__"
            for t in stmt.targets
        ):
            return isinstance(stmt.value, cst.Name) and stmt.value.value == "True"
    return False


def _is_sqlmodel(info: ClassInfo, facts: Facts, seen: set[str]) -> bool:
    """Whether a local class derives from `sqlmodel.SQLModel` (a table or a plain model), so
    that `class Team(TeamBase, table=True)` is a table."""
    if info.kind is ClassKind.SQLMODEL_TABLE or "sqlmodel.SQLModel" in info.bases:
        return True
    seen.add(info.name)
    return any(
        (other := facts.classes.get(b)) is not None
        and other.name not in seen
        and _is_sqlmodel(other, facts, seen)
        for b in info.bases
        if b is not None
    )


def _classify(node: cst.ClassDef, bases: tuple[str | None, ...], facts: Facts) -> ClassKind:
    local = [facts.classes.get(b) for b in bases if b is not None]
    if any(b in ("sqlmodel.SQLModel",) for b in bases) or any(
        i is not None and _is_sqlmodel(i, facts, set()) for i in local
    ):
        return ClassKind.SQLMODEL_TABLE if _has_table_true(node) else ClassKind.PYDANTIC
    if any(b in PYDANTIC_BASES for b in bases) or any(
        i is not None and i.kind is ClassKind.PYDANTIC for i in local
    ):
        return ClassKind.PYDANTIC
    if any(b in DECLARATIVE_BASES for b in bases):
        # A class inheriting DeclarativeBase directly is the base, unless it maps a table.
        return ClassKind.SQLA_MODEL if _body_looks_mapped(node, facts) else ClassKind.SQLA_BASE
    if any(b in facts.base_factories or b == FLASK_MODEL for b in bases) or any(
        i is not None and i.kind in (ClassKind.SQLA_BASE, ClassKind.SQLA_MODEL) for i in local
    ):
        return ClassKind.SQLA_BASE if _is_abstract(node) else ClassKind.SQLA_MODEL
    # A base imported from elsewhere (`from app.db import Base`): trust the body, not the name.
    external = [b for b in bases if b is not None and b not in facts.classes and "." in b]
    if external and _body_looks_mapped(node, facts):
        return ClassKind.SQLA_MODEL
    return ClassKind.OTHER


def _generic_origin(node: cst.BaseExpression) -> cst.BaseExpression:
    """`RootModel[list[User]]` as a base is `RootModel`: subscripts do not change the kind."""
    return node.value if isinstance(node, cst.Subscript) else node


MAPPED_ANNOTATIONS = frozenset({"sqlalchemy.orm.Mapped", "sqlalchemy.orm.base.Mapped"})
DECLARATIVE_MIXIN_DECORATORS = frozenset(
    {"sqlalchemy.orm.declarative_mixin", "sqlalchemy.orm.decl_api.declarative_mixin"}
)


def _declares_mixin(info: ClassInfo, facts: Facts) -> bool:
    """`@declarative_mixin`, or an attribute annotated `Mapped[...]` (only ORM code does that)."""
    for deco in info.node.decorators:
        target = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
        if facts.resolve(target) in DECLARATIVE_MIXIN_DECORATORS:
            return True
    for stmt in iter_statements(info.node.body):
        if isinstance(stmt, cst.AnnAssign):
            ann = stmt.annotation.annotation
            if isinstance(ann, cst.Subscript) and facts.resolve(ann.value) in MAPPED_ANNOTATIONS:
                return True
    return False


def _orm_mixins(facts: Facts) -> frozenset[str]:
    """Local non-ORM classes that are declarative mixins: bases of ORM classes (transitively),
    `@declarative_mixin` classes, and classes with `Mapped[...]` attributes."""
    orm_kinds = (ClassKind.SQLA_MODEL, ClassKind.SQLA_BASE)
    found: set[str] = set()
    todo: list[ClassInfo] = []
    for info in facts.classes.values():
        if info.kind in orm_kinds:
            todo.append(info)
        elif info.kind is ClassKind.OTHER and _declares_mixin(info, facts):
            found.add(info.name)
            todo.append(info)
    while todo:
        info = todo.pop()
        for base in info.bases:
            other = facts.classes.get(base) if base is not None else None
            if other is not None and other.kind is ClassKind.OTHER and other.name not in found:
                found.add(other.name)
                todo.append(other)
    return frozenset(found)


def collect(module: cst.Module, *, role: Role = Role.OTHER, path: str = "<unit>") -> Facts:
    """Build the facts for one parsed unit. Walks statements only, never expressions."""
    facts = Facts(role=role, path=path)
    class_nodes: list[cst.ClassDef] = []
    response_models: set[str] = set()
    factories: set[str] = set()
    for stmt in iter_statements(module):
        if isinstance(stmt, cst.Import):
            for alias in stmt.names:
                full = _dotted(alias.name)
                if alias.asname is not None:
                    facts.imports[_dotted(alias.asname.name)] = full  # type: ignore[arg-type]
                else:
                    head = full.split(".", 1)[0]
                    facts.imports[head] = head
        elif isinstance(stmt, cst.ImportFrom):
            if stmt.relative or stmt.module is None:
                module_name = "." * len(stmt.relative) + (
                    _dotted(stmt.module) if stmt.module else ""
                )
            else:
                module_name = _dotted(stmt.module)
            if isinstance(stmt.names, cst.ImportStar):
                continue
            for alias in stmt.names:
                name = _dotted(alias.name)
                local = _dotted(alias.asname.name) if alias.asname else name  # type: ignore[arg-type]
                facts.imports[local] = f"{module_name}.{name}"
                if name == "db" and local == "db":  # `from app.extensions import db`
                    facts.flask_db |= {local}
        elif isinstance(stmt, cst.ClassDef):
            class_nodes.append(stmt)
        elif isinstance(stmt, cst.FunctionDef):
            for deco in stmt.decorators:
                if isinstance(deco.decorator, cst.Call):
                    response_models.update(_response_model_names(deco.decorator))
        elif isinstance(stmt, cst.Assign):
            names = [t.target.value for t in stmt.targets if isinstance(t.target, cst.Name)]
            if isinstance(stmt.value, cst.Call):
                callee = facts.resolve_call(stmt.value)
                if callee in FLASK_SQLALCHEMY:
                    facts.flask_db |= set(names)
                elif callee in DECLARATIVE_BASE_FACTORIES or (
                    isinstance(stmt.value.func, cst.Attribute)
                    and stmt.value.func.attr.value == "generate_base"
                ):
                    factories.update(names)
            elif facts.resolve(stmt.value) == FLASK_MODEL:  # `Base = db.Model`
                factories.update(names)
    facts.base_factories = frozenset(factories)
    # Statements come in source order, so a local base is classified before its subclasses.
    for node in class_nodes:
        bases = tuple(facts.resolve(_generic_origin(arg.value)) for arg in node.bases)
        info = ClassInfo(node.name.value, node, bases, _classify(node, bases, facts))
        facts.classes[info.name] = info
        facts.by_node[id(node)] = info
    facts.response_models = frozenset(response_models)
    facts.orm_mixins = _orm_mixins(facts)
    return facts
