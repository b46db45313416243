"""What Pydantic model a local name holds where it is used (PYD003's receivers): from its
annotation, its constructor, or as `self` / `cls` of a model's method."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import libcst as cst
import libcst.matchers as m

from harness.code.matchers import split_optional, unwrap_annotated
from harness.code.models import annotation_model, model_name, pydantic_model
from harness.code.names import SCOPE_NODES, Binding, BindingKind

if TYPE_CHECKING:
    from harness.code.facts import Facts

#: Modules that hold Pydantic models by convention (FastAPI's `schemas.py`): a class of one
#: that the project does not define is taken for a model (a guess from the module name).
SCHEMA_MODULES = frozenset({"schemas", "schema"})
#: v2 calls returning an instance of the model they are called on: `User.model_validate(d)`.
_INSTANCE_FACTORIES = frozenset(
    {"model_validate", "model_validate_json", "model_construct"}
    | {"parse_obj", "parse_raw", "parse_file", "from_orm", "construct"}
)
#: `@staticmethod` / `@classmethod` (what the first parameter of a method is).
STATICMETHOD_DECORATOR = m.Decorator(decorator=m.Name("staticmethod"))
CLASSMETHOD_DECORATOR = m.Decorator(decorator=m.Name("classmethod"))

#: A local name bound to a model: (model class name, whether it is the class itself).
ModelBinding = tuple[str, bool] | None
#: No function scope binds the name (a module-level or imported name).
UNBOUND = object()


def imports_schema_module(facts: Facts) -> bool:
    """Whether the unit imports from a conventional `schemas` module."""
    return any(set(name.lstrip(".").split(".")) & SCHEMA_MODULES for name in facts.imports.values())


def receiver(name: str, facts: Facts, ancestors: Sequence[cst.CSTNode]) -> ModelBinding | object:
    """The model `name` holds at the node being visited (`ancestors` is the walk's stack):
    from the innermost scope binding it, when all its bindings there agree; `UNBOUND` when
    no function scope binds it."""
    scopes = facts.scopes
    for depth in range(len(scopes) - 1, -1, -1):
        found = scopes[depth].get(name)
        if found is None:
            continue
        meanings = {_meaning(b, name, depth, facts, ancestors) for b in found}
        return meanings.pop() if len(meanings) == 1 else None
    return UNBOUND


def _meaning(
    binding: Binding, name: str, depth: int, facts: Facts, ancestors: Sequence[cst.CSTNode]
) -> ModelBinding:
    kind = binding.kind
    if kind is BindingKind.PARAM:
        if binding.annotation is not None:
            model = annotation_model(binding.annotation, facts) or schema_class(
                binding.annotation, facts
            )
            return (model, False) if model is not None else None
        return _self_or_cls(name, depth, facts, ancestors)
    if kind is not BindingKind.ASSIGN:
        return None
    if binding.annotation is not None:
        model = annotation_model(binding.annotation, facts)
        return (model, False) if model is not None else None
    return _value_binding(binding.value, facts)


def schema_class(annotation: cst.BaseExpression, facts: Facts) -> str | None:
    """`schemas.UserCreate` (`from app import schemas`, or `from .schemas import
    UserCreate`) when the project does not define it."""
    members, _ = split_optional(annotation, facts)
    if len(members) != 1:
        return None
    name = facts.resolve(unwrap_annotated(members[0], facts)[0])
    parts = name.lstrip(".").split(".") if name else []
    if len(parts) < 2 or parts[-2] not in SCHEMA_MODULES or not parts[-1][:1].isupper():
        return None
    return name if facts.class_of(name) is None else None


def _self_or_cls(
    name: str, depth: int, facts: Facts, ancestors: Sequence[cst.CSTNode]
) -> ModelBinding:
    """The first parameter of a method of a Pydantic model: the instance, or the class in a
    `@classmethod` (not in a `@staticmethod`)."""
    owners = [i for i, n in enumerate(ancestors) if isinstance(n, SCOPE_NODES)]
    if depth >= len(owners):
        return None
    i = owners[depth]
    func = ancestors[i]
    if not isinstance(func, cst.FunctionDef) or i < 2:
        return None
    owner = ancestors[i - 2]  # [..., ClassDef, IndentedBlock, FunctionDef]
    info = pydantic_model(owner, facts) if isinstance(owner, cst.ClassDef) else None
    params = [*func.params.posonly_params, *func.params.params]
    if info is None or not params or params[0].name.value != name:
        return None
    if any(m.matches(d, STATICMETHOD_DECORATOR) for d in func.decorators):
        return None
    is_class = any(m.matches(d, CLASSMETHOD_DECORATOR) for d in func.decorators)
    return (info.name, is_class)


def _value_binding(value: cst.BaseExpression | None, facts: Facts) -> ModelBinding:
    if not isinstance(value, cst.Call):
        return None
    func = value.func
    if isinstance(func, cst.Attribute) and func.attr.value in _INSTANCE_FACTORIES:
        func = func.value
    model = model_name(func, facts)
    return (model, False) if model is not None else None
