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
            route = _route(deco.decorator, name)
            if route is not None:
                yield route


def _route(decorator: cst.BaseExpression, name: str) -> Offer | None:
    """`@router.get("/orders/{id}")`, `@app.post(...)`, `@bp.route("/x", methods=["PUT"])`."""
    if not isinstance(decorator, cst.Call) or not isinstance(decorator.func, cst.Attribute):
        return None
    attr = decorator.func.attr.value
    path = None
    if decorator.args and decorator.args[0].keyword is None:
        first = decorator.args[0].value
        if isinstance(first, cst.SimpleString) and isinstance(first.evaluated_value, str):
            path = first.evaluated_value
    if attr in ROUTE_METHODS:
        return Offer("route", name, ROUTE_METHODS[attr], path)
    if attr in ("route", "api_route"):
        methods = "GET"
        for arg in decorator.args:
            if arg.keyword is not None and arg.keyword.value == "methods":
                value = arg.value
                if isinstance(value, cst.List | cst.Tuple) and value.elements:
                    first_el = value.elements[0].value
                    if isinstance(first_el, cst.SimpleString):
                        methods = str(first_el.evaluated_value).upper()
        return Offer("route", name, methods, path)
    return None
