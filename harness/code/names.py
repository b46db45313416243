"""Name resolution: what a name refers to at a point of a unit.

One service for every rule. A name is looked up in the scopes enclosing the node being
visited (function, lambda and comprehension scopes, innermost first), then in the module:
its imports, then its own definitions. A name bound nowhere in the unit or its project is a
fragment's name: a well-known library name then means what the library means (`FRAGMENT`).

Scopes are flow-insensitive: a name bound twice in one function has both bindings, and a
rule that needs one meaning asks `Binding.same`. Walrus targets and `match` captures are not
bindings here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

import libcst as cst


class BindingKind(StrEnum):
    IMPORT = "import"
    PARAM = "param"
    ASSIGN = "assign"  # `x = v`, `x: T = v`, `x: T`, `x += v`
    DEF = "def"  # a def or class statement
    LOOP = "loop"  # for / with / except targets, comprehension and lambda variables
    GLOBAL = "global"  # `global x` / `nonlocal x`: the name is not local


@dataclass(frozen=True, slots=True)
class Binding:
    """One way a scope binds a name."""

    kind: BindingKind
    qualified: str | None = None  # the imported name, for imports
    annotation: cst.BaseExpression | None = None
    value: cst.BaseExpression | None = None
    augmented: cst.BaseAugOp | None = None  # `x += value`: the operator
    node: cst.CSTNode | None = field(default=None, compare=False)  # the binding statement


Scope = dict[str, tuple[Binding, ...]]

#: The nodes that open a scope, in the walk's order (`Facts.scopes` holds one per node).
SCOPE_NODES = (
    cst.FunctionDef,
    cst.Lambda,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.GeneratorExp,
)

#: What a name means in a fragment that binds it nowhere (no import, no definition).
FRAGMENT: dict[str, str] = {
    **{
        n: f"pydantic.{n}"
        for n in (
            "BaseModel",
            "Field",
            "ConfigDict",
            "RootModel",
            "EmailStr",
            "field_validator",
            "model_validator",
            "validator",
            "root_validator",
            "computed_field",
        )
    },
    "BaseSettings": "pydantic_settings.BaseSettings",
    "SettingsConfigDict": "pydantic_settings.SettingsConfigDict",
    "SQLModel": "sqlmodel.SQLModel",
    **{
        n: f"sqlalchemy.{n}"
        for n in (
            "Column",
            "Integer",
            "BigInteger",
            "SmallInteger",
            "String",
            "Text",
            "Boolean",
            "DateTime",
            "Float",
            "Numeric",
            "ForeignKey",
            "Table",
            "MetaData",
            "UniqueConstraint",
            "Index",
            "select",
            "text",
            "func",
            "create_engine",
        )
    },
    **{
        n: f"sqlalchemy.orm.{n}"
        for n in (
            "relationship",
            "backref",
            "Mapped",
            "mapped_column",
            "declarative_base",
            "DeclarativeBase",
            "declared_attr",
            "Session",
            "sessionmaker",
            "scoped_session",
        )
    },
    "SQLAlchemyError": "sqlalchemy.exc.SQLAlchemyError",
    "sa": "sqlalchemy",  # the alias SQLAlchemy's own docs use: `sa.Column(sa.Integer)`
    **{n: f"fastapi.{n}" for n in ("HTTPException", "APIRouter", "Depends", "FastAPI")},
    **{
        n: f"typing.{n}"
        for n in ("Optional", "Union", "List", "Dict", "Any", "Annotated", "ClassVar")
    },
}
#: In a fragment built on `SQLModel`, a bare `Field` is sqlmodel's.
SQLMODEL_FRAGMENT = {**FRAGMENT, "Field": "sqlmodel.Field"}


def _targets(node: cst.BaseExpression) -> Iterator[cst.Name]:
    """Names bound by an assignment target (`a`, `a, (b, *c)`); attributes bind nothing."""
    if isinstance(node, cst.Name):
        yield node
    elif isinstance(node, cst.Tuple | cst.List):
        for element in node.elements:
            yield from _targets(element.value)
    elif isinstance(node, cst.StarredElement):
        yield from _targets(node.value)


def import_bindings(
    node: cst.Import | cst.ImportFrom, module: str | None
) -> Iterator[tuple[str, str]]:
    """(local name, qualified name) pairs an import statement binds. Relative imports are
    made absolute against `module` (the importing module's package) when it is known."""
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = dotted(alias.name)
            if alias.asname is not None:
                yield dotted(alias.asname.name), full  # type: ignore[arg-type]
            else:
                head = full.split(".", 1)[0]
                yield head, head
        return
    if isinstance(node.names, cst.ImportStar):
        return
    base = absolute_module(node, module)
    for alias in node.names:
        name = dotted(alias.name)
        local = dotted(alias.asname.name) if alias.asname else name  # type: ignore[arg-type]
        yield local, f"{base}.{name}" if base else name


def absolute_module(node: cst.ImportFrom, package: str | None) -> str:
    """The module an `ImportFrom` imports from; `.x` is resolved against `package` when it
    is known, else kept with its leading dots."""
    name = dotted(node.module) if node.module is not None else ""
    level = len(node.relative)
    if not level:
        return name
    if package is None:
        return "." * level + name
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return "." * level + name
    head = parts[: len(parts) - (level - 1)]
    return ".".join([*head, name] if name else head)


def dotted(node: cst.BaseExpression | cst.ImportAlias | cst.CSTNode) -> str:
    if isinstance(node, cst.ImportAlias):
        return dotted(node.name)
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{dotted(node.value)}.{node.attr.value}"
    return ""


def _add(scope: Scope, name: str, binding: Binding) -> None:
    scope[name] = (*scope.get(name, ()), binding)


def scope_statements(body: cst.CSTNode, *, into_defs: bool = False) -> Iterator[cst.CSTNode]:
    """Statements of a body, through compound statements and their `except` clauses (which
    are yielded too); into the bodies of nested defs and classes only with `into_defs`."""
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.IndentedBlock | cst.Module):
            stack.extend(reversed(node.body))
        elif isinstance(node, cst.SimpleStatementLine | cst.SimpleStatementSuite):
            yield from node.body
        elif isinstance(node, cst.FunctionDef | cst.ClassDef) and not into_defs:
            yield node
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
                stack.append(handler)
        elif isinstance(node, cst.ExceptHandler | cst.ExceptStarHandler):
            yield node
            stack.append(node.body)


def _param_bindings(params: cst.Parameters, scope: Scope) -> None:
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        ann = param.annotation.annotation if param.annotation is not None else None
        _add(scope, param.name.value, Binding(BindingKind.PARAM, annotation=ann))
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            _add(scope, star.name.value, Binding(BindingKind.PARAM))


def body_bindings(body: cst.CSTNode, scope: Scope, module: str | None) -> None:
    """Add what the statements of `body` bind to `scope` (not what nested defs bind)."""
    for stmt in scope_statements(body):
        if isinstance(stmt, cst.Assign):
            for target in stmt.targets:
                for name in _targets(target.target):
                    binding = Binding(BindingKind.ASSIGN, value=stmt.value, node=stmt)
                    _add(scope, name.value, binding)
        elif isinstance(stmt, cst.AnnAssign):
            for name in _targets(stmt.target):
                ann = stmt.annotation.annotation
                binding = Binding(BindingKind.ASSIGN, annotation=ann, value=stmt.value, node=stmt)
                _add(scope, name.value, binding)
        elif isinstance(stmt, cst.AugAssign):
            for name in _targets(stmt.target):
                binding = Binding(
                    BindingKind.ASSIGN, value=stmt.value, augmented=stmt.operator, node=stmt
                )
                _add(scope, name.value, binding)
        elif isinstance(stmt, cst.Import | cst.ImportFrom):
            for local, full in import_bindings(stmt, module):
                _add(scope, local, Binding(BindingKind.IMPORT, qualified=full))
        elif isinstance(stmt, cst.FunctionDef | cst.ClassDef):
            _add(scope, stmt.name.value, Binding(BindingKind.DEF))
        elif isinstance(stmt, cst.For):  # the value is what the loop runs over
            for name in _targets(stmt.target):
                _add(scope, name.value, Binding(BindingKind.LOOP, value=stmt.iter))
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                if item.asname is not None:
                    for name in _targets(item.asname.name):  # type: ignore[arg-type]
                        _add(scope, name.value, Binding(BindingKind.LOOP, value=item.item))
        elif isinstance(stmt, cst.ExceptHandler | cst.ExceptStarHandler):
            if stmt.name is not None and isinstance(stmt.name.name, cst.Name):
                _add(scope, stmt.name.name.value, Binding(BindingKind.LOOP))
        elif isinstance(stmt, cst.Global | cst.Nonlocal):
            for item in stmt.names:
                scope[item.name.value] = (Binding(BindingKind.GLOBAL),)


def function_scope(node: cst.FunctionDef | cst.Lambda, module: str | None) -> Scope:
    """What a function binds: its parameters and its body's names."""
    scope: Scope = {}
    _param_bindings(node.params, scope)
    if isinstance(node, cst.FunctionDef):
        body_bindings(node.body, scope, module)
    # `global x` wins over any local assignment of x.
    return {k: v for k, v in scope.items() if not any(b.kind is BindingKind.GLOBAL for b in v)}


def comprehension_scope(node: cst.BaseComp) -> Scope:
    """The loop variables of a comprehension, which are local to it."""
    scope: Scope = {}
    comp: cst.CompFor | None = node.for_in
    while comp is not None:
        for name in _targets(comp.target):
            _add(scope, name.value, Binding(BindingKind.LOOP, value=comp.iter))
        comp = comp.inner_for_in
    return scope


def single(bindings: tuple[Binding, ...]) -> Binding | None:
    """The binding when a scope binds the name one way only."""
    return bindings[0] if len(bindings) == 1 else None
