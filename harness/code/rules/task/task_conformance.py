from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from harness.code.provides import Offer
from harness.registry import RuleBase


class Declared(Protocol):
    """An item a template or case declares the code must provide (`expect.provides`)."""

    kind: str
    name: str | None
    method: str | None
    path: str | None


_PARAM_RE = re.compile(r"\{[^}]*\}|<[^>]*>")  # FastAPI `{id}`, Flask `<int:id>`


def _norm_path(path: str) -> str:
    return _PARAM_RE.sub("{}", path).rstrip("/") or "/"


class TaskConformance(RuleBase):
    """
    ## What it does
    Checks that the code does the task: every item the template (`expect.provides`) or the
    case (`cases[].provides`) declares must be provided by some code block of the reply (the
    reply is one project). Items, rendered with the case's variables:

    - `{kind: pydantic-model, name: "{{ entity }}Create"}`: a Pydantic model of that name;
    - `{kind: declarative-model, name: Order}`: a SQLAlchemy (or SQLModel table) model;
    - `{kind: class, name: OrderService}`: any class;
    - `{kind: function, name: cancel_order}`: a function or method, sync or async;
    - `{kind: async-function, name: cancel_order}`: an `async def`;
    - `{kind: route, method: POST, path: "/orders/{order_id}/cancel"}`: a route decorator
      (`@router.post(...)`, `@app.route(..., methods=[...])`, one route per method); path
      parameters match whatever their names and style (`{id}`, Flask's `<int:id>`), and a
      path matches when it ends the declared one (the router's prefix may hold the rest).

    Each missing item is one finding. A template that declares nothing has no TSK001 (the
    linter says so, TPL015). A reply with no code at all is `no-code`, not a TSK001 finding.
    TSK001 blocks a sample by default (`profile.blocking`).

    ## Why is this bad?
    Code that does something else scores as if it were right: a repository template answered
    with an ORM model class has none of the defects the rules look for, and no repository.
    The score must say the task was not done.

    ## Example
    ```yaml
    expect:
      provides:
        - {kind: async-function, name: "{{ function }}"}
    ```
    A reply that defines only `class Order(Base): ...` misses `cancel_order`.

    ## Use instead
    A reply that defines `async def cancel_order(session: AsyncSession, order_id: UUID)`.
    """

    code = "TSK001"
    name = "task-conformance"
    message = "The code does not provide what the task asks for"
    family = "TSK"

    @classmethod
    def missing(cls, declared: Sequence[Declared], offers: Iterable[Offer]) -> list[str]:
        """A description of each declared item no offer provides."""
        offered = list(offers)
        return [_describe(item) for item in declared if not any(_meets(item, o) for o in offered)]


def _meets(item: Declared, offer: Offer) -> bool:
    if item.kind == "route":
        if offer.kind != "route":
            return False
        if item.method and (offer.method or "").upper() != item.method.upper():
            return False
        if item.path:
            if offer.path is None:
                return False
            want, have = _norm_path(item.path), _norm_path(offer.path)
            return want == have or want.endswith(have if have != "/" else want)
        return True
    if item.kind == "function":
        kinds: tuple[str, ...] = ("function", "async-function")
    else:
        kinds = (item.kind,)
    return offer.kind in kinds and (not item.name or offer.name == item.name)


def _describe(item: Declared) -> str:
    if item.kind == "route":
        return f"route {(item.method or 'ANY').upper()} {item.path or ''}".rstrip()
    what = item.kind.replace("-", " ")
    return f"{what} `{item.name}`" if item.name else f"a {what}"
