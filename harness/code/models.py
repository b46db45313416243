"""What a unit's facts say about its Pydantic models: their declared and inherited fields,
their effective config (`model_config`, v1 `class Config`, class keywords, through bases),
and whether a model is an input or a read model. Rules ask these instead of walking bodies.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst
import libcst.matchers as m

from harness.code.evidence import response_model_classes
from harness.code.matchers import (
    CONFIG_DICT_CALLS,
    PYDANTIC_FIELD_CALLS,
    TRUE_LITERAL,
    UNION_ORIGINS,
    class_attributes,
    class_defines,
    class_statements,
    is_classvar_annotation,
    is_ellipsis,
    is_name,
    keyword_arg,
    positional_args,
    split_optional,
    subscript_args,
    unwrap_annotated,
)

if TYPE_CHECKING:
    from harness.code.facts import ClassInfo, Facts
    from harness.config import RulesConfig

#: Bases of models written against the `pydantic.v1` compatibility namespace on purpose.
PYDANTIC_V1_NAMESPACE_BASES = frozenset(
    {"pydantic.v1.BaseModel", "pydantic.v1.main.BaseModel", "pydantic.v1.BaseSettings"}
)
#: Class keywords that are not model config (`class Hero(SQLModel, table=True)`).
_NON_CONFIG_CLASS_KEYWORDS = frozenset({"metaclass", "table", "registry"})
#: Validator decorators that name the fields they check (`@field_validator("email")`).
FIELD_VALIDATOR_DECORATORS = frozenset(
    {
        "pydantic.field_validator",
        "pydantic.functional_validators.field_validator",
        "pydantic.validator",
        "pydantic.class_validators.validator",
        "pydantic.v1.validator",
        "field_validator",
        "validator",
    }
)


@dataclass(frozen=True, slots=True)
class ModelField:
    """One annotated field declared directly in a model body (not ClassVar, not `_private`)."""

    name: str
    node: cst.AnnAssign
    annotation: cst.BaseExpression
    value: cst.BaseExpression | None


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One model config key, from `model_config`, a v1 `class Config:` or a class keyword."""

    key: str
    value: cst.BaseExpression
    node: cst.CSTNode  # the keyword, dict key or `class Config` target naming the key
    in_config_class: bool


def pydantic_model(node: cst.ClassDef, facts: Facts) -> ClassInfo | None:
    """The class info when facts say `node` is a Pydantic model (through local bases)."""
    info = facts.class_info(node)
    return info if info is not None and info.is_pydantic else None


def model_fields(node: cst.ClassDef, facts: Facts) -> tuple[ModelField, ...]:
    """Fields a model body declares: annotated names, minus ClassVars, `_private` attributes
    and `model_config`. Computed once per class and unit."""
    key = ("model_fields", id(node))
    cached = facts.memo.get(key)
    if cached is None:
        cached = facts.memo[key] = tuple(_model_fields(node, facts))
    return cached  # type: ignore[return-value]


def _model_fields(node: cst.ClassDef, facts: Facts) -> Iterator[ModelField]:
    for stmt in class_statements(node):
        if not isinstance(stmt, cst.AnnAssign) or not isinstance(stmt.target, cst.Name):
            continue
        name = stmt.target.value
        annotation = stmt.annotation.annotation
        if name.startswith("_") or name == "model_config":
            continue
        if is_classvar_annotation(annotation, facts):
            continue
        yield ModelField(name, stmt, annotation, stmt.value)


def local_ancestors(info: ClassInfo, facts: Facts | None = None) -> list[ClassInfo]:
    """Bases known in the unit or its project, transitively, in approximate MRO order. Each
    base is resolved in the unit that names it."""
    seen = {id(info.node)}
    out: list[ClassInfo] = []

    def visit(cls: ClassInfo) -> None:
        for base in cls.bases:
            base_info = cls.facts.class_of(base)
            if base_info is not None and id(base_info.node) not in seen:
                seen.add(id(base_info.node))
                out.append(base_info)
                visit(base_info)

    visit(info)
    return out


def external_bases(info: ClassInfo, facts: Facts | None = None) -> frozenset[str | None]:
    """Bases (of the class and its known ancestors) known neither in the unit nor in its
    project; None when a base is not a plain name."""
    return frozenset(
        base
        for cls in (info, *local_ancestors(info))
        for base in cls.bases
        if base is None or cls.facts.class_of(base) is None
    )


def is_pydantic_v1_namespace(info: ClassInfo, facts: Facts | None = None) -> bool:
    """A model deriving from `pydantic.v1.BaseModel`: v1 code on purpose."""
    return not external_bases(info).isdisjoint(PYDANTIC_V1_NAMESPACE_BASES)


def inherited_fields(
    info: ClassInfo, facts: Facts | None = None
) -> list[tuple[ModelField, ClassInfo]]:
    """Fields a model inherits from known Pydantic bases and does not redeclare. A field is
    read with the facts of the class that declares it (`ClassInfo.facts`)."""
    own = {f.name for f in model_fields(info.node, info.facts)}
    out: list[tuple[ModelField, ClassInfo]] = []
    for base in local_ancestors(info):
        if not base.is_pydantic:
            continue
        for f in model_fields(base.node, base.facts):
            if f.name not in own:
                own.add(f.name)
                out.append((f, base))
    return out


def model_config_value(stmt: cst.CSTNode) -> cst.BaseExpression | None:
    """The value of `model_config = ...` / `model_config: ... = ...`."""
    if isinstance(stmt, cst.Assign):
        if len(stmt.targets) == 1 and is_name(stmt.targets[0].target, "model_config"):
            return stmt.value
    elif isinstance(stmt, cst.AnnAssign) and is_name(stmt.target, "model_config"):
        return stmt.value
    return None


def _config_class_entries(node: cst.ClassDef) -> Iterator[ConfigEntry]:
    for attr in class_attributes(node):
        if attr.value is not None:
            yield ConfigEntry(attr.target.value, attr.value, attr.target, True)


def config_entries(node: cst.ClassDef, facts: Facts) -> Iterator[ConfigEntry]:
    """Config keys a model body sets itself: class keywords, `model_config = ConfigDict(...)`
    or `= {...}`, and assignments in a nested v1 `class Config:`."""
    for kw in node.keywords:
        if kw.keyword is not None and kw.keyword.value not in _NON_CONFIG_CLASS_KEYWORDS:
            yield ConfigEntry(kw.keyword.value, kw.value, kw.keyword, False)
    for stmt in class_statements(node):
        if isinstance(stmt, cst.ClassDef):
            if stmt.name.value == "Config":
                yield from _config_class_entries(stmt)
            continue
        value = model_config_value(stmt)
        if isinstance(value, cst.Call) and facts.resolve(value.func) in CONFIG_DICT_CALLS:
            for arg in value.args:
                if arg.keyword is not None:
                    yield ConfigEntry(arg.keyword.value, arg.value, arg.keyword, False)
        elif isinstance(value, cst.Dict):
            for element in value.elements:
                if isinstance(element, cst.DictElement) and isinstance(
                    element.key, cst.SimpleString
                ):
                    key = element.key.evaluated_value
                    if isinstance(key, str):
                        yield ConfigEntry(key, element.value, element.key, False)


def effective_config(info: ClassInfo, facts: Facts) -> dict[str, cst.BaseExpression]:
    """Config keys in force for a model: its own over those of its local bases."""
    merged: dict[str, cst.BaseExpression] = {}
    for cls in (*reversed(local_ancestors(info)), info):
        for entry in config_entries(cls.node, cls.facts):
            merged[entry.key] = entry.value
    return merged


def has_name_suffix(name: str, suffixes: tuple[str, ...]) -> bool:
    """`UserRead` ends with `Read`; the bare suffix (`Read`) is no model name of that kind."""
    return any(len(name) > len(s) and name.endswith(s) for s in suffixes)


def is_input_model(info: ClassInfo, settings: RulesConfig) -> bool:
    return has_name_suffix(info.name, settings.input_model_suffixes)


def is_read_model(info: ClassInfo, facts: Facts, settings: RulesConfig) -> bool:
    """A response model: a read-model suffix or used as `response_model=` (by a route of
    any file of the project), and no input-model suffix."""
    if is_input_model(info, settings):
        return False
    return (
        has_name_suffix(info.name, settings.read_model_suffixes)
        or info.name in facts.response_models
        or id(info.node) in response_model_classes(facts)
    )


def reads_orm_objects(info: ClassInfo, facts: Facts) -> bool:
    """Whether the model (or a local base) sets `from_attributes=True`, or v1's
    `orm_mode = True`: it is built from ORM rows, a read model whatever its name."""
    config = effective_config(info, facts)
    return any(
        (value := config.get(key)) is not None and m.matches(value, TRUE_LITERAL)
        for key in ("from_attributes", "orm_mode")
    )


def field_call(value: cst.BaseExpression | None, facts: Facts) -> cst.Call | None:
    """The call when `value` is `Field(...)` from pydantic or sqlmodel."""
    if isinstance(value, cst.Call) and facts.resolve(value.func) in PYDANTIC_FIELD_CALLS:
        return value
    return None


def field_has_default(field: ModelField, facts: Facts) -> bool:
    """Whether a field may be omitted: a value that is not `...`, `Field(default)`,
    `Field(default=...)` or `Field(default_factory=...)` (also inside `Annotated`)."""
    value = field.value
    if value is None:
        _, metadata = unwrap_annotated(field.annotation, facts)
        return any(
            (call := field_call(meta, facts)) is not None
            and keyword_arg(call, "default_factory") is not None
            for meta in metadata
        )
    if is_ellipsis(value):
        return False
    call = field_call(value, facts)
    if call is None:
        return True
    if any(arg.star for arg in call.args):  # Field(**options): cannot tell
        return True
    default = next(positional_args(call), None)
    if default is None:
        kw = keyword_arg(call, "default")
        default = kw.value if kw is not None else None
    if default is not None:
        return not is_ellipsis(default)
    return keyword_arg(call, "default_factory") is not None


def field_keyword(field: ModelField, facts: Facts, keyword: str) -> cst.Arg | None:
    """`keyword=` given to the field's `Field(...)`, as its value or in `Annotated[...]`."""
    call = field_call(field.value, facts)
    if call is not None and (arg := keyword_arg(call, keyword)) is not None:
        return arg
    for meta in annotation_metadata(field.annotation, facts):
        call = field_call(meta, facts)
        if call is not None and (arg := keyword_arg(call, keyword)) is not None:
            return arg
    return None


def annotation_metadata(
    annotation: cst.BaseExpression, facts: Facts
) -> tuple[cst.BaseExpression, ...]:
    """`Annotated[...]` metadata of an annotation and of its Optional member:
    `(Field(max_length=5),)` for `Annotated[str, Field(max_length=5)] | None`."""
    annotation, metadata = unwrap_annotated(annotation, facts)
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        parts = [annotation.left, annotation.right]
    elif isinstance(annotation, cst.Subscript) and (
        facts.resolve(annotation.value) in UNION_ORIGINS
    ):
        parts = subscript_args(annotation)
    else:
        return metadata
    return metadata + tuple(meta for part in parts for meta in annotation_metadata(part, facts))


def validated_field_names(node: cst.ClassDef, facts: Facts) -> frozenset[str]:
    """Field names a class validates with `@field_validator("a", "b")` / `@validator(...)`;
    `"*"` when a validator applies to every field."""
    names: set[str] = set()
    for stmt in class_statements(node):
        if not isinstance(stmt, cst.FunctionDef):
            continue
        for deco in stmt.decorators:
            call = deco.decorator
            if not isinstance(call, cst.Call):
                continue
            if facts.resolve(call.func) not in FIELD_VALIDATOR_DECORATORS:
                continue
            for arg in positional_args(call):
                if isinstance(arg, cst.SimpleString) and isinstance(arg.evaluated_value, str):
                    names.add(arg.evaluated_value)
    return frozenset(names)


def model_name(node: cst.BaseExpression, facts: Facts) -> str | None:
    """The resolved name when `node` names a known Pydantic model: a Pydantic class of the
    unit or of its project (`schemas.TaskCreate`), or a name imported and used as
    `response_model=` (FastAPI only takes models there)."""
    if not isinstance(node, cst.Name | cst.Attribute):
        return None
    resolved = facts.resolve(node)
    if facts.pydantic_class(resolved) is not None:
        return resolved
    if (
        isinstance(node, cst.Name)
        and node.value in facts.response_models
        and facts.imported(node.value)
        and facts.bindings(node.value) is None
    ):
        return resolved
    return None


def annotation_model(annotation: cst.BaseExpression, facts: Facts) -> str | None:
    """The known Pydantic model (see `model_name`) an annotation names: `User`, `"User"`,
    `User | None`, `Optional[User]`, `Annotated[User, ...]`."""
    members, _ = split_optional(annotation, facts)
    if len(members) != 1:
        return None
    return model_name(unwrap_annotated(members[0], facts)[0], facts)


def model_defines(name: str, attr: str, facts: Facts) -> bool:
    """Whether the class `name` (resolved) or one of its known bases defines `attr` itself."""
    info = facts.class_of(name)
    if info is None:
        return False
    return any(class_defines(cls.node, attr) for cls in (info, *local_ancestors(info)))


def has_opaque_config(info: ClassInfo, facts: Facts) -> bool:
    """Whether the model or a local base sets `model_config` to something whose keys cannot
    be read: a variable, `ConfigDict(**base)`, `{**base}`."""
    for cls in (info, *local_ancestors(info)):
        for stmt in class_statements(cls.node):
            value = model_config_value(stmt)
            if value is None:
                continue
            if isinstance(value, cst.Call) and cls.facts.resolve(value.func) in CONFIG_DICT_CALLS:
                if any(arg.star for arg in value.args):
                    return True
            elif isinstance(value, cst.Dict):
                if any(isinstance(e, cst.StarredDictElement) for e in value.elements):
                    return True
            else:
                return True
    return False
