"""What a unit of code provides, for task conformance (TSK001): its classes by kind, its
functions (sync or async) and its routes (method and path)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from harness.code.facts import ClassKind, Facts, iter_statements

#: Decorator methods that declare a route, and their HTTP method.
ROUTE_METHODS = {
    "get": "GET",
    "post": "POST",
    "put": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
    "head": "HEAD",
    "options": "OPTIONS",
}


@dataclass(frozen=True, slots=True)
class Offer:
    """One thing a unit provides. `kind` is a `Provided.kind` of the template's spec."""

    kind: str
    name: str
    method: str | None = None
    path: str | None = None


def offers(facts: Facts) -> tuple[Offer, ...]:
    """Everything a unit provides: classes, functions and methods, routes."""
    module = facts.module
    if module is None:
        return ()
    return tuple(_offers(module, facts))


def _offers(module: cst.Module, facts: Facts) -> Iterator[Offer]:
    for info in facts.classes.values():
        yield Offer("class", info.name)
        if info.is_pydantic:
            yield Offer("pydantic-model", info.name)
        if info.kind in (ClassKind.SQLA_MODEL, ClassKind.SQLMODEL_TABLE):
            yield Offer("declarative-model", info.name)
    for stmt in iter_statements(module):
        if not isinstance(stmt, cst.FunctionDef):
            continue
        name = stmt.name.value
        yield Offer("async-function" if stmt.asynchronous else "function", name)
        for deco in stmt.decorators:
            yield from _routes(deco.decorator, name)


#: Decorator methods that declare a route for the methods given in `methods=`.
ROUTE_ANY = ("route", "api_route")


def _route_call(decorator: cst.BaseExpression) -> tuple[cst.Call, str] | None:
    """The call and its method name when `decorator` declares a route."""
    if isinstance(decorator, cst.Call) and isinstance(decorator.func, cst.Attribute):
        attr = decorator.func.attr.value
        if attr in ROUTE_METHODS or attr in ROUTE_ANY:
            return decorator, attr
    return None


def is_route(decorator: cst.BaseExpression) -> bool:
    """`@router.get(...)`, `@app.post(...)`, `@bp.route(...)`: a route decorator."""
    return _route_call(decorator) is not None


def _routes(decorator: cst.BaseExpression, name: str) -> Iterator[Offer]:
    """`@router.get("/orders/{id}")`, `@app.post(path=...)`, `@bp.route("/x", methods=["GET",
    "PUT"])` (one offer per method)."""
    found = _route_call(decorator)
    if found is None:
        return
    call, attr = found
    path = None
    for i, arg in enumerate(call.args):
        keyword = arg.keyword.value if arg.keyword is not None else None
        if (keyword is None and i == 0) or keyword in ("path", "rule"):
            value = arg.value
            if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
                path = value.evaluated_value
    if attr in ROUTE_METHODS:
        yield Offer("route", name, ROUTE_METHODS[attr], path)
    else:  # ROUTE_ANY
        methods = ["GET"]
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "methods":
                value = arg.value
                if isinstance(value, cst.List | cst.Tuple | cst.Set):
                    listed = [
                        str(el.value.evaluated_value).upper()
                        for el in value.elements
                        if isinstance(el.value, cst.SimpleString)
                    ]
                    methods = listed or methods
        for method in methods:
            yield Offer("route", name, method, path)
