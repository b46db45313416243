"""Facts pre-pass: import aliases, class kinds and response models, computed once per unit.

Rules ask these facts instead of guessing from names: `BM` resolves to `pydantic.BaseModel`
when the unit says `from pydantic import BaseModel as BM`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import libcst as cst
import libcst.matchers as m

from harness.code.known import (
    ABSTRACT_BASES,
    DECLARATIVE_BASE_FACTORIES,
    DECLARATIVE_BASES,
    DECLARATIVE_MIXIN_DECORATORS,
    FLASK_MODEL,
    FLASK_SESSION,
    FLASK_SQLALCHEMY,
    LIBRARIES,
    MAPPED_ANNOTATIONS,
    MIXIN_BASES,
    ORM_COLUMN_CALLS,
    PYDANTIC_BASES,
    SESSION_CALLS,
    SESSION_MAKERS,
    SQLALCHEMY_ORM_NAMES,
)
from harness.code.names import (
    FRAGMENT,
    SQLMODEL_FRAGMENT,
    BindingKind,
    Scope,
    absolute_module,
    body_bindings,
    function_scope,
    import_bindings,
    scope_statements,
)
from harness.code.unit import Role

#: `db.Model` as a base: the Flask-SQLAlchemy idiom.
FLASK_MODEL_BASE = m.Attribute(value=m.Name("db"), attr=m.Name("Model"))


class ClassKind(StrEnum):
    PYDANTIC = "pydantic"  # pydantic BaseModel (or SQLModel without table=True)
    SQLA_BASE = "sqlalchemy-base"  # the declarative base itself
    SQLA_MODEL = "sqlalchemy-model"  # a mapped ORM class
    SQLMODEL_TABLE = "sqlmodel-table"  # SQLModel with table=True: both ORM and pydantic
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class ClassInfo:
    """A class statement. `bases` are resolved in the unit that defines it, whose facts
    (`facts`) resolve the names in its body."""

    name: str
    node: cst.ClassDef
    bases: tuple[str | None, ...]
    kind: ClassKind
    facts: Facts = field(compare=False, repr=False)

    @property
    def is_pydantic(self) -> bool:
        return self.kind in (ClassKind.PYDANTIC, ClassKind.SQLMODEL_TABLE)

    @property
    def is_orm(self) -> bool:
        return self.kind in (ClassKind.SQLA_MODEL, ClassKind.SQLMODEL_TABLE)


class Symbol(StrEnum):
    """What a module-level name other than a class is, as far as the rules care."""

    BASE_FACTORY = "base-factory"  # `Base = declarative_base()` / `Base = db.Model`
    FLASK_DB = "flask-db"  # `db = SQLAlchemy()`
    SESSION_FACTORY = "session-factory"  # `SessionLocal = sessionmaker(bind=engine)`
    SESSION = "session"  # `db_session = scoped_session(...)`: a session itself


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """A module-level function, with the facts of the unit defining it."""

    name: str
    node: cst.FunctionDef
    facts: Facts = field(compare=False, repr=False)


class Project(Protocol):
    """The other units of a project: what a qualified name (`app.db.Base`) is there."""

    def lookup(self, qualified: str) -> ClassInfo | FunctionInfo | Symbol | None: ...

    def units(self) -> list[Facts]:
        """The facts of every unit that parsed."""
        ...

    def shared(self, key: str, build: Callable[[], object]) -> object:
        """A value derived from the whole project, built once."""
        ...


@dataclass(slots=True)
class Facts:
    """What a rule may ask about the unit, beyond the node in hand."""

    role: Role = Role.OTHER
    path: str = "<unit>"
    package: str | None = None  # the package relative imports start from, when known
    project: Project | None = None
    # Module-level imports (relative ones made absolute); a function's own imports are in its
    # scope, and also in `nested_imports` (for `matchers.local_aliases`).
    imports: dict[str, str] = field(default_factory=dict)
    nested_imports: dict[str, str] = field(default_factory=dict)
    bound: frozenset[str] = frozenset()  # names the module binds other than by import
    star_modules: tuple[str, ...] = ()
    module: cst.Module | None = None
    functions: dict[str, FunctionInfo] = field(default_factory=dict)  # module-level defs
    fragment: dict[str, str] = field(default_factory=lambda: FRAGMENT)
    # The scopes enclosing the node being visited, outermost first (kept by the walk).
    scopes: list[Scope] = field(default_factory=list)
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
    # module-level names bound to a session factory or to a session (see `Symbol`)
    sessions: dict[str, Symbol] = field(default_factory=dict)

    def resolve(self, node: cst.BaseExpression | None) -> str | None:
        """Dotted name an expression refers to here; None if it is not a name.

        A local variable or a name the module defines is its own name; an import is what it
        imports; a name bound nowhere is the library name a fragment means by it (`FRAGMENT`),
        or a name a star import brings from the project, or itself.
        """
        if isinstance(node, cst.Name):
            return self.resolve_name(node.value)
        if isinstance(node, cst.Attribute):
            if isinstance(node.value, cst.Name) and node.value.value in self.flask_db:
                return _flask_attribute(node.attr.value)
            base = self.resolve(node.value)
            return None if base is None else f"{base}.{node.attr.value}"
        return None

    def resolve_name(self, name: str) -> str:
        for scope in reversed(self.scopes):
            found = scope.get(name)
            if found is not None:
                first = found[0]
                if first.kind is BindingKind.IMPORT and all(
                    b.qualified == first.qualified for b in found
                ):
                    return first.qualified  # type: ignore[return-value]
                return name
        qualified = self.imports.get(name)
        if qualified is not None:
            return qualified
        if name in self.bound:
            return name
        if self.star_modules and self.project is not None:
            for module in self.star_modules:
                if self.project.lookup(f"{module}.{name}") is not None:
                    return f"{module}.{name}"
        return self.fragment.get(name, name)

    def scope_of(self, node: cst.FunctionDef | cst.Lambda) -> Scope:
        """What a function binds (`names.function_scope`), computed once per function."""
        key = ("scope", id(node))
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = function_scope(node, self.package)
        return found  # type: ignore[return-value]

    def bindings(self, name: str) -> tuple[BindingKind, ...] | None:
        """How the innermost function-like scope binding `name` binds it; None at module level."""
        for scope in reversed(self.scopes):
            found = scope.get(name)
            if found is not None:
                return tuple(b.kind for b in found)
        return None

    def class_of(self, resolved: str | None) -> ClassInfo | None:
        """The class a resolved name refers to: one of the unit's, or one in the project."""
        if resolved is None:
            return None
        info = self.classes.get(resolved)
        if info is None and self.project is not None and "." in resolved:
            found = self.project.lookup(resolved)
            info = found if isinstance(found, ClassInfo) else None
        return info

    def function_of(self, resolved: str | None) -> FunctionInfo | None:
        """The module-level function a resolved name refers to, here or in the project."""
        if resolved is None:
            return None
        info = self.functions.get(resolved)
        if info is None and self.project is not None and "." in resolved:
            found = self.project.lookup(resolved)
            info = found if isinstance(found, FunctionInfo) else None
        return info

    def is_base_factory(self, resolved: str | None) -> bool:
        """Whether a resolved name is a declarative base made by a factory call."""
        if resolved is None:
            return False
        if resolved in self.base_factories or resolved == FLASK_MODEL:
            return True
        return (
            self.project is not None
            and "." in resolved
            and self.project.lookup(resolved) is Symbol.BASE_FACTORY
        )

    def session_symbol(self, resolved: str | None) -> Symbol | None:
        """Whether a resolved name is a session factory or a session made at module level,
        here or in the project."""
        if resolved is None:
            return None
        found = self.sessions.get(resolved)
        if found is None and self.project is not None and "." in resolved:
            symbol = self.project.lookup(resolved)
            if symbol in (Symbol.SESSION_FACTORY, Symbol.SESSION):
                found = symbol  # type: ignore[assignment]
        return found

    def resolve_call(self, node: cst.BaseExpression) -> str | None:
        """Dotted name of the callee, when `node` is a call."""
        return self.resolve(node.func) if isinstance(node, cst.Call) else None

    def imported(self, local: str) -> bool:
        return local in self.imports

    def class_info(self, node: cst.ClassDef) -> ClassInfo | None:
        return self.by_node.get(id(node))

    def pydantic_class(self, resolved: str | None) -> ClassInfo | None:
        info = self.class_of(resolved)
        return info if info is not None and info.is_pydantic else None


def _flask_attribute(attr: str) -> str:
    """What `db.<attr>` is on a Flask-SQLAlchemy instance."""
    if attr == "Model":
        return FLASK_MODEL
    if attr == "session":
        return FLASK_SESSION
    return f"sqlalchemy.orm.{attr}" if attr in SQLALCHEMY_ORM_NAMES else f"sqlalchemy.{attr}"


def iter_statements(body: cst.BaseSuite | cst.Module) -> Iterator[cst.CSTNode]:
    """Every statement, recursively through compound statement bodies and nested defs (not
    expressions)."""
    return scope_statements(body, into_defs=True)


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


def body_statements(node: cst.ClassDef) -> Iterator[cst.CSTNode]:
    """Statements directly in a class body (not in its methods)."""
    body = node.body
    lines = body.body if isinstance(body, cst.IndentedBlock) else (body,)
    for line in lines:
        if isinstance(line, cst.SimpleStatementLine | cst.SimpleStatementSuite):
            yield from line.body
        else:
            yield line


def _body_looks_mapped(node: cst.ClassDef, facts: Facts) -> bool:
    """`__tablename__`, a `Column(...)` / `mapped_column(...)` attribute or a `Mapped[...]`
    annotation directly in the class body."""
    for stmt in body_statements(node):
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


def _is_abstract(node: cst.ClassDef, bases: tuple[str | None, ...]) -> bool:
    """`__abstract__ = True` in the body, or an `AbstractConcreteBase` base."""
    if not ABSTRACT_BASES.isdisjoint(bases):
        return True
    for stmt in body_statements(node):
        if isinstance(stmt, cst.Assign) and any(
            isinstance(t.target, cst.Name) and t.target.value == "__abstract__"
            for t in stmt.targets
        ):
            return isinstance(stmt.value, cst.Name) and stmt.value.value == "True"
    return False


def _is_sqlmodel(info: ClassInfo, seen: set[int]) -> bool:
    """Whether a class derives from `sqlmodel.SQLModel` (a table or a plain model), through
    bases in any unit, so that `class Team(TeamBase, table=True)` is a table."""
    if info.kind is ClassKind.SQLMODEL_TABLE or "sqlmodel.SQLModel" in info.bases:
        return True
    seen.add(id(info.node))
    return any(
        (other := info.facts.class_of(b)) is not None
        and id(other.node) not in seen
        and _is_sqlmodel(other, seen)
        for b in info.bases
    )


def _classify(node: cst.ClassDef, bases: tuple[str | None, ...], facts: Facts) -> ClassKind:
    known = [info for b in bases if (info := facts.class_of(b)) is not None]
    if "sqlmodel.SQLModel" in bases or any(_is_sqlmodel(i, set()) for i in known):
        return ClassKind.SQLMODEL_TABLE if _has_table_true(node) else ClassKind.PYDANTIC
    if any(b in PYDANTIC_BASES for b in bases) or any(i.kind is ClassKind.PYDANTIC for i in known):
        return ClassKind.PYDANTIC
    if any(b in DECLARATIVE_BASES for b in bases):
        # A class inheriting DeclarativeBase directly is the base, unless it maps a table.
        return ClassKind.SQLA_MODEL if _body_looks_mapped(node, facts) else ClassKind.SQLA_BASE
    if any(facts.is_base_factory(b) for b in bases) or any(
        i.kind in (ClassKind.SQLA_BASE, ClassKind.SQLA_MODEL) for i in known
    ):
        return ClassKind.SQLA_BASE if _is_abstract(node, bases) else ClassKind.SQLA_MODEL
    # A base known neither here nor in the project (imported from elsewhere, or a fragment's
    # undefined `Base`): trust the body, not the name.
    unknown = [
        b
        for b in bases
        if b is not None
        and b != "object"
        and b.split(".", 1)[0] not in LIBRARIES  # a library's class is no ORM base
        and facts.class_of(b) is None
    ]
    if unknown and _body_looks_mapped(node, facts):
        return ClassKind.SQLA_BASE if _is_abstract(node, bases) else ClassKind.SQLA_MODEL
    return ClassKind.OTHER


def _generic_origin(node: cst.BaseExpression) -> cst.BaseExpression:
    """`RootModel[list[User]]` as a base is `RootModel`: subscripts do not change the kind."""
    return node.value if isinstance(node, cst.Subscript) else node


def declares_mixin(info: ClassInfo) -> bool:
    """`@declarative_mixin`, a `MappedAsDataclass` base, or an attribute annotated
    `Mapped[...]` (only ORM code does that)."""
    facts = info.facts
    if not MIXIN_BASES.isdisjoint(info.bases):
        return True
    for deco in info.node.decorators:
        target = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
        if facts.resolve(target) in DECLARATIVE_MIXIN_DECORATORS:
            return True
    for stmt in body_statements(info.node):
        if isinstance(stmt, cst.AnnAssign):
            ann = stmt.annotation.annotation
            if isinstance(ann, cst.Subscript) and facts.resolve(ann.value) in MAPPED_ANNOTATIONS:
                return True
    return False


def orm_mixins(facts: Facts) -> list[ClassInfo]:
    """Non-ORM classes that are declarative mixins: bases of the unit's ORM classes
    (transitively, in any unit), and the unit's classes that declare themselves mixins."""
    orm_kinds = (ClassKind.SQLA_MODEL, ClassKind.SQLA_BASE)
    found: dict[int, ClassInfo] = {}
    todo: list[ClassInfo] = []
    for info in facts.classes.values():
        if info.kind in orm_kinds:
            todo.append(info)
        elif info.kind is ClassKind.OTHER and declares_mixin(info):
            found[id(info.node)] = info
            todo.append(info)
    while todo:
        info = todo.pop()
        for base in info.bases:
            other = info.facts.class_of(base)
            if other is not None and other.kind is ClassKind.OTHER and id(other.node) not in found:
                found[id(other.node)] = other
                todo.append(other)
    return list(found.values())


def collect(
    module: cst.Module,
    *,
    role: Role = Role.OTHER,
    path: str = "<unit>",
    package: str | None = None,
    project: Project | None = None,
) -> Facts:
    """Build the facts for one parsed unit. Walks statements only, never expressions.
    `package` makes relative imports absolute; `project` resolves names of other units."""
    facts = Facts(role=role, path=path, package=package, project=project, module=module)
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef):
            facts.functions[stmt.name.value] = FunctionInfo(stmt.name.value, stmt, facts)
    top: Scope = {}
    body_bindings(module, top, package)
    facts.bound = frozenset(
        name for name, found in top.items() if any(b.kind is not BindingKind.IMPORT for b in found)
    )
    class_nodes: list[cst.ClassDef] = []
    response_models: set[str] = set()
    factories: set[str] = set()
    stars: list[str] = []
    module_level = {
        id(stmt)
        for stmt in scope_statements(module)
        if isinstance(stmt, cst.Import | cst.ImportFrom)
    }
    for stmt in iter_statements(module):
        if isinstance(stmt, cst.Import | cst.ImportFrom):
            if id(stmt) not in module_level:
                for local, full in import_bindings(stmt, package):
                    facts.nested_imports.setdefault(local, full)
                continue
            if isinstance(stmt, cst.ImportFrom) and isinstance(stmt.names, cst.ImportStar):
                stars.append(absolute_module(stmt, package))
            for local, full in import_bindings(stmt, package):
                facts.imports.setdefault(local, full)
                if local == "db" and full.endswith(".db"):  # `from app.extensions import db`
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
                elif callee in SESSION_MAKERS:
                    facts.sessions.update(dict.fromkeys(names, Symbol.SESSION_FACTORY))
                elif callee in SESSION_CALLS or facts.session_symbol(callee) is not None:
                    facts.sessions.update(dict.fromkeys(names, Symbol.SESSION))
                elif callee in DECLARATIVE_BASE_FACTORIES or (
                    isinstance(stmt.value.func, cst.Attribute)
                    and stmt.value.func.attr.value == "generate_base"
                ):
                    factories.update(names)
            elif facts.resolve(stmt.value) == FLASK_MODEL:  # `Base = db.Model`
                factories.update(names)
    facts.star_modules = tuple(stars)
    if project is not None:
        facts.flask_db |= {
            local
            for local, full in facts.imports.items()
            if "." in full and project.lookup(full) is Symbol.FLASK_DB
        }
    facts.base_factories = frozenset(factories)
    if (
        any(
            isinstance(arg.value, cst.Name) and arg.value.value == "SQLModel"
            for node in class_nodes
            for arg in node.bases
        )
        and "SQLModel" not in facts.imports
    ):
        facts.fragment = SQLMODEL_FRAGMENT
    # A fragment's `class Item(db.Model)` with `db` bound nowhere: Flask-SQLAlchemy's `db`.
    if (
        "db" not in facts.imports
        and "db" not in facts.bound
        and any(m.matches(a.value, FLASK_MODEL_BASE) for node in class_nodes for a in node.bases)
    ):
        facts.flask_db |= {"db"}
    # Statements come in source order, so a local base is classified before its subclasses.
    for node in class_nodes:
        bases = tuple(facts.resolve(_generic_origin(arg.value)) for arg in node.bases)
        info = ClassInfo(node.name.value, node, bases, _classify(node, bases, facts), facts)
        facts.classes[info.name] = info
        facts.by_node[id(node)] = info
    facts.response_models = frozenset(response_models)
    facts.orm_mixins = frozenset(i.name for i in orm_mixins(facts) if i.facts is facts)
    return facts
