"""Shared libcst matchers and small predicates for code rules.

Matchers are module-level constants named after what they match; predicates take the unit's
`Facts` when a name has to be resolved through imports.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import libcst as cst
import libcst.matchers as m

from harness.code.known import ORM_COLUMN_CALLS

if TYPE_CHECKING:
    from harness.code.facts import ClassInfo, Facts


# --- Default values and logging calls (used by EXC001) ---------------------------------

#: A literal constant: `0`, `-1`, `1.5`, `"x"`, `"a" "b"`, `None`, `True`, `False`.
CONSTANT_VALUE = (
    m.Integer()
    | m.Float()
    | m.SimpleString()
    | m.ConcatenatedString(
        left=m.SimpleString() | m.ConcatenatedString(),
        right=m.SimpleString() | m.ConcatenatedString(),
    )
    | m.Name("None")
    | m.Name("True")
    | m.Name("False")
    | m.UnaryOperation(operator=m.Minus(), expression=m.Integer() | m.Float())
)
#: An empty collection: `[]`, `{}`, `()`, `list()`, `dict()`, `set()`, `tuple()`, `str()`.
EMPTY_COLLECTION = (
    m.List(elements=[])
    | m.Dict(elements=[])
    | m.Tuple(elements=[])
    | m.Call(
        func=m.Name("list")
        | m.Name("dict")
        | m.Name("set")
        | m.Name("tuple")
        | m.Name("frozenset")
        | m.Name("str"),
        args=[],
    )
)
#: A value that carries no information about what failed.
DEFAULT_VALUE = CONSTANT_VALUE | EMPTY_COLLECTION

#: Methods of `logging.Logger` (and look-alikes such as structlog / loguru) that emit a record.
_LEVELS = ("debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log")
#: Logger methods, with structlog's async ones (`await log.aerror(...)`).
LOG_METHODS = frozenset(_LEVELS) | frozenset(f"a{name}" for name in _LEVELS)
_PRINT_LIKE = frozenset(
    {"print", "traceback.print_exc", "traceback.print_exception", "warnings.warn"}
    | {f"logging.{name}" for name in _LEVELS}  # `from logging import error`
    # Error trackers report, as a log does: the caller still gets the default.
    | {"sentry_sdk.capture_exception", "sentry_sdk.capture_message"}
)


def is_default_value(node: cst.BaseExpression | None) -> bool:
    """`None`, a literal constant or an empty collection (a bare `return` counts as None)."""
    return node is None or m.matches(node, DEFAULT_VALUE)


def _names_a_logger(node: cst.BaseExpression, facts: Facts) -> bool:
    if isinstance(node, cst.Name):
        return "log" in node.value.lower()
    if isinstance(node, cst.Attribute):
        return "log" in node.attr.value.lower()
    if isinstance(node, cst.Call):
        # logging.getLogger(__name__).error(...), logger.bind(id=x).error(...)
        if facts.resolve_call(node) in ("logging.getLogger", "structlog.get_logger"):
            return True
        func = node.func
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("bind", "opt")
            and _names_a_logger(func.value, facts)
        )
    return False


def is_logging_call(node: cst.BaseExpression, facts: Facts) -> bool:
    """A call that only reports: `print(...)`, `logging.error(...)`, `logger.exception(...)`,
    `self.log.warning(...)`, `traceback.print_exc()`; `await` around it is allowed."""
    if isinstance(node, cst.Await):
        node = node.expression
    if not isinstance(node, cst.Call):
        return False
    func = node.func
    if isinstance(func, cst.Attribute) and func.attr.value in LOG_METHODS:
        return _names_a_logger(func.value, facts)
    return facts.resolve(func) in _PRINT_LIKE


# --- SQLAlchemy / SQLModel ORM classes (used by SQA and IDS rules) -------------------------

#: `sqlalchemy.Table` (a Core table).
TABLE_CALLS = frozenset(
    {"sqlalchemy.Table", "sqlalchemy.schema.Table", "sqlalchemy.sql.schema.Table"}
)
#: `sqlmodel.Field` (it takes `primary_key=`, `foreign_key=`, `index=`).
SQLMODEL_FIELD_CALLS = frozenset({"sqlmodel.Field", "sqlmodel.main.Field"})
FOREIGN_KEY_CALLS = frozenset(
    {"sqlalchemy.ForeignKey", "sqlalchemy.schema.ForeignKey", "sqlalchemy.sql.schema.ForeignKey"}
)
#: `Mapped[...]`; a bare unresolved `Mapped` is accepted too (the import is ruff's business).
MAPPED_NAMES = frozenset({"sqlalchemy.orm.Mapped", "sqlalchemy.orm.base.Mapped", "Mapped"})
_INT_TYPE_NAMES = ("Integer", "BigInteger", "SmallInteger", "INTEGER", "BIGINT", "SMALLINT", "INT")
#: SQLAlchemy integer column types, as `sa.Integer` or `sa.Integer()`.
INTEGER_SQL_TYPES = frozenset(
    f"{module}.{name}"
    for module in ("sqlalchemy", "sqlalchemy.types", "sqlalchemy.sql.sqltypes")
    for name in _INT_TYPE_NAMES
) | frozenset(
    f"sqlalchemy.dialects.{d}.{n}"
    for d in ("postgresql", "mysql", "sqlite")
    for n in ("INTEGER", "BIGINT", "SMALLINT")
)
#: Python annotations meaning an integer.
INT_ANNOTATIONS = frozenset(
    {
        "int",
        "builtins.int",
        "pydantic.PositiveInt",
        "pydantic.NonNegativeInt",
        "pydantic.StrictInt",
        "pydantic.conint",
        "pydantic.types.PositiveInt",
        "pydantic.types.NonNegativeInt",
        "pydantic.types.StrictInt",
        "pydantic.types.conint",
    }
)

#: The literal `True`.
TRUE_LITERAL = m.Name("True")
#: A string literal, plain or implicitly concatenated (not an f-string).
STRING_LITERAL = m.SimpleString() | m.ConcatenatedString()


@dataclass(frozen=True, slots=True)
class ClassAttribute:
    """One `name = value` / `name: annotation = value` statement directly in a class body."""

    target: cst.Name
    annotation: cst.BaseExpression | None
    value: cst.BaseExpression | None


def class_attributes(node: cst.ClassDef) -> Iterator[ClassAttribute]:
    """Simple attribute assignments of a class body, in order (not nested blocks)."""
    body = node.body
    lines = body.body if isinstance(body, cst.IndentedBlock) else (body,)
    for line in lines:
        if not isinstance(line, cst.SimpleStatementLine | cst.SimpleStatementSuite):
            continue
        for stmt in line.body:
            if isinstance(stmt, cst.AnnAssign) and isinstance(stmt.target, cst.Name):
                yield ClassAttribute(stmt.target, stmt.annotation.annotation, stmt.value)
            elif (
                isinstance(stmt, cst.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0].target, cst.Name)
            ):
                yield ClassAttribute(stmt.targets[0].target, None, stmt.value)


def class_defines(node: cst.ClassDef, name: str) -> bool:
    """Whether the class body assigns `name` or defines a method `name` (any decorator)."""
    body = node.body
    lines = body.body if isinstance(body, cst.IndentedBlock) else (body,)
    for line in lines:
        if isinstance(line, cst.FunctionDef) and line.name.value == name:
            return True
    return any(attr.target.value == name for attr in class_attributes(node))


def declarative_class(node: cst.ClassDef, facts: Facts) -> ClassInfo | None:
    """The class info when `node` is a SQLAlchemy declarative class whose attributes are
    mapped: a model, a (possibly abstract) declarative base, or a local mixin of one.
    SQLModel tables are not included (they declare fields with `sqlmodel.Field`)."""
    from harness.code.facts import ClassKind

    info = facts.class_info(node)
    if info is None:
        return None
    if info.kind in (ClassKind.SQLA_MODEL, ClassKind.SQLA_BASE) or info.name in facts.orm_mixins:
        return info
    return None


def keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def keyword_is_true(call: cst.Call, name: str) -> bool:
    arg = keyword_arg(call, name)
    return arg is not None and m.matches(arg.value, TRUE_LITERAL)


def positional_args(call: cst.Call) -> Iterator[cst.BaseExpression]:
    for arg in call.args:
        if arg.keyword is None and not arg.star:
            yield arg.value


def name_tail(node: cst.BaseExpression) -> str | None:
    """Last name of `a.b.c` or `c`; None for anything else."""
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Name):
        return node.value
    return None


def callee_tail(call: cst.Call) -> str | None:
    """Last name of the callee: `relationship` for `sa.orm.relationship(...)`."""
    return name_tail(call.func)


def local_aliases(facts: Facts, targets: frozenset[str]) -> frozenset[str]:
    """Local names importing one of `targets` (`from sqlalchemy.orm import relationship as r`)."""
    return frozenset(
        local
        for imports in (facts.imports, facts.nested_imports)
        for local, full in imports.items()
        if full in targets
    )


def resolve_callee(facts: Facts, node: cst.BaseExpression) -> str | None:
    """Qualified name of `node` if it is a name or a call of one (`Integer`, `Integer()`)."""
    if isinstance(node, cst.Call):
        node = node.func
    return facts.resolve(node)


def column_call(value: cst.BaseExpression | None, facts: Facts) -> cst.Call | None:
    """The call when `value` is `Column(...)` or `mapped_column(...)` from SQLAlchemy."""
    if isinstance(value, cst.Call) and facts.resolve(value.func) in ORM_COLUMN_CALLS:
        return value
    return None


def foreign_key_of(call: cst.Call, facts: Facts) -> cst.Call | None:
    """The `ForeignKey(...)` positional argument of a column call, if any."""
    for arg in positional_args(call):
        if isinstance(arg, cst.Call) and facts.resolve(arg.func) in FOREIGN_KEY_CALLS:
            return arg
    return None


def mapped_inner(annotation: cst.BaseExpression | None, facts: Facts) -> cst.BaseExpression | None:
    """`X` for an annotation `Mapped[X]`; None when the annotation is not `Mapped[...]`."""
    if annotation is None:
        return None
    annotation = annotation_expr(annotation)
    if (
        isinstance(annotation, cst.Subscript)
        and facts.resolve(annotation.value) in MAPPED_NAMES
        and annotation.slice
        and isinstance(annotation.slice[0].slice, cst.Index)
    ):
        return annotation.slice[0].slice.value
    return None


def is_int_annotation(node: cst.BaseExpression | None, facts: Facts) -> bool:
    """`int`, `int | None`, `Optional[int]`, `Annotated[int, ...]`, `PositiveInt`,
    `Mapped[int]`: an annotation whose non-None type is an integer."""
    if node is None:
        return False
    node = mapped_inner(node, facts) or node
    members, _ = split_optional(node, facts)
    if len(members) != 1:
        return False
    core, _ = unwrap_annotated(members[0], facts)
    return resolve_callee(facts, core) in INT_ANNOTATIONS


def column_type_is_int(call: cst.Call, facts: Facts) -> bool | None:
    """For `Column(...)` / `mapped_column(...)`: True if its SQL type is an integer type,
    False if it names another type, None if it names none (then the annotation decides)."""
    for arg in positional_args(call):
        if m.matches(arg, STRING_LITERAL):  # the column name
            continue
        name = resolve_callee(facts, arg)
        if name in INTEGER_SQL_TYPES:
            return True
        if name in FOREIGN_KEY_CALLS or name is None:
            continue
        tail = name.rsplit(".", 1)[-1]
        if tail in ("Sequence", "Identity", "Computed", "FetchedValue", "CheckConstraint"):
            continue
        return False
    return None


# --- Pydantic models (used by PYD rules) ----------------------------------------------------


TYPING_OPTIONAL = frozenset({"typing.Optional", "typing_extensions.Optional", "Optional"})
TYPING_UNION = frozenset({"typing.Union", "typing_extensions.Union", "Union"})
UNION_ORIGINS = TYPING_OPTIONAL | TYPING_UNION
TYPING_ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated", "Annotated"})
TYPING_CLASSVAR = frozenset({"typing.ClassVar", "typing_extensions.ClassVar", "ClassVar"})
TYPING_ANY = frozenset({"typing.Any", "typing_extensions.Any", "Any"})
#: `pydantic.Field` (and `sqlmodel.Field`, which takes the same arguments).
PYDANTIC_FIELD_CALLS = frozenset(
    {"pydantic.Field", "pydantic.fields.Field", "sqlmodel.Field", "sqlmodel.main.Field", "Field"}
)
#: Calls building a `model_config` value; bare `ConfigDict` is accepted (the import is ruff's).
CONFIG_DICT_CALLS = frozenset(
    {
        "pydantic.ConfigDict",
        "pydantic.config.ConfigDict",
        "pydantic_settings.SettingsConfigDict",
        "pydantic_settings.main.SettingsConfigDict",
        "ConfigDict",
        "SettingsConfigDict",
        "dict",
    }
)


@lru_cache(maxsize=1024)
def _parse_string_annotation(text: str) -> cst.BaseExpression | None:
    try:
        return cst.parse_expression(text)
    except cst.ParserSyntaxError:
        return None


def annotation_expr(node: cst.BaseExpression) -> cst.BaseExpression:
    """A string annotation (`"User | None"`) parsed to the expression it names; parsed once
    per distinct string, since several rules look at the same annotations."""
    if isinstance(node, cst.SimpleString):
        text = node.evaluated_value
        parsed = _parse_string_annotation(text) if isinstance(text, str) else None
        return node if parsed is None else parsed
    return node


def is_name(node: cst.CSTNode | None, value: str) -> bool:
    """`node` is the bare name `value` (a fast check for hot paths: `None`, `model_config`)."""
    return isinstance(node, cst.Name) and node.value == value


def is_ellipsis(node: cst.CSTNode | None) -> bool:
    """The literal `...` (a required field in `Field(...)` or `x: int = ...`)."""
    return isinstance(node, cst.Ellipsis)


def class_statements(node: cst.ClassDef) -> Iterator[cst.CSTNode]:
    """Statements directly in a class body: small statements and compound ones, in order."""
    body = node.body
    if isinstance(body, cst.SimpleStatementSuite):
        yield from body.body
        return
    for line in body.body:
        if isinstance(line, cst.SimpleStatementLine):
            yield from line.body
        else:
            yield line


def subscript_args(node: cst.Subscript) -> list[cst.BaseExpression]:
    return [el.slice.value for el in node.slice if isinstance(el.slice, cst.Index)]


def unwrap_annotated(
    annotation: cst.BaseExpression, facts: Facts
) -> tuple[cst.BaseExpression, tuple[cst.BaseExpression, ...]]:
    """`(X, (meta, ...))` for `Annotated[X, meta, ...]`; `(annotation, ())` otherwise.
    A string annotation is parsed first."""
    annotation = annotation_expr(annotation)
    if (
        isinstance(annotation, cst.Subscript)
        and facts.resolve(annotation.value) in TYPING_ANNOTATED
    ):
        args = subscript_args(annotation)
        if args:
            return annotation_expr(args[0]), tuple(args[1:])
    return annotation, ()


def split_optional(
    annotation: cst.BaseExpression, facts: Facts
) -> tuple[list[cst.BaseExpression], bool]:
    """The members of a union other than None, and whether None is one of them:
    `X | None`, `Optional[X]`, `Union[X, None]`, `Annotated[X | None, ...]`."""
    annotation, _ = unwrap_annotated(annotation, facts)
    if is_name(annotation, "None"):
        return [], True
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        left, left_none = split_optional(annotation.left, facts)
        right, right_none = split_optional(annotation.right, facts)
        return left + right, left_none or right_none
    if isinstance(annotation, cst.Subscript):
        origin = facts.resolve(annotation.value)
        if origin in TYPING_OPTIONAL or origin in TYPING_UNION:
            members: list[cst.BaseExpression] = []
            has_none = origin in TYPING_OPTIONAL
            for arg in subscript_args(annotation):
                inner, inner_none = split_optional(arg, facts)
                members += inner
                has_none = has_none or inner_none
            return members, has_none
    return [annotation], False


def is_any_annotation(annotation: cst.BaseExpression, facts: Facts) -> bool:
    return facts.resolve(unwrap_annotated(annotation, facts)[0]) in TYPING_ANY


def is_optional_annotation(annotation: cst.BaseExpression, facts: Facts) -> bool:
    """Whether the annotation admits None: `X | None`, `Optional[X]`, `Union[X, None]`, `Any`."""
    members, has_none = split_optional(annotation, facts)
    return has_none or any(is_any_annotation(member, facts) for member in members)


def is_str_annotation(annotation: cst.BaseExpression, facts: Facts) -> bool:
    """`str`, optionally wrapped in `Optional[...]` / `| None` / `Annotated[...]`."""
    members, _ = split_optional(annotation, facts)
    if len(members) != 1:
        return False
    inner, _ = unwrap_annotated(members[0], facts)
    return facts.resolve(inner) in ("str", "builtins.str")


def is_classvar_annotation(annotation: cst.BaseExpression, facts: Facts) -> bool:
    annotation = annotation_expr(annotation)
    if isinstance(annotation, cst.Subscript):
        annotation = annotation.value
    return facts.resolve(annotation) in TYPING_CLASSVAR
