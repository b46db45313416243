"""What a rendered prompt asks a simulated model for: the kind of code, the entity, its fields
and the instructions it recognises."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["schema", "model", "service", "router"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: str  # str | text | int | float | decimal | bool | datetime | date | email | uuid | fk
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str


@dataclass(frozen=True, slots=True)
class Ask:
    """What a prompt asks for, as far as a simulated model understands it.

    `obeyed` are the rules whose linked instruction (the template's `expect.rules`) is in the
    rendered prompt: the model follows those. `functions` and `routes` are what the template
    declares the code must provide (`expect.provides`)."""

    kind: Kind
    entity: str
    fields: tuple[FieldSpec, ...]
    obeyed: frozenset[str] = frozenset()
    is_async: bool = False
    relationship: str | None = None
    functions: tuple[tuple[str, bool], ...] = ()  # (name, async)
    routes: tuple[Route, ...] = ()


_KIND_WORDS: dict[Kind, tuple[str, ...]] = {
    "router": ("router", "endpoint", "endpoints", "route", "routes", "fastapi", "apirouter"),
    "service": ("service", "services", "service layer", "business logic", "use case"),
    "model": (
        "sqlalchemy model",
        "orm model",
        "declarative",
        "mapped_column",
        "table",
        "orm",
        "sqlalchemy",
    ),
    "schema": ("pydantic", "schema", "schemas", "basemodel", "dto", "request model"),
}
_NOT_ENTITY = frozenset(
    """
    A An The This That These Those Use Write Create Return Make Generate Build Add Each Do
    Don't Never Always Only Keep Include Please You Your It If When For With Without Python
    Pydantic SQLAlchemy FastAPI BaseModel ConfigDict Field EmailStr UUID Mapped HTTPException
    Session AsyncSession APIRouter Depends Column Integer String DeclarativeBase JSON SQL ORM
    API REST CRUD HTTP Optional Any List Dict None True False Requirements Fields Rules Output
    Instructions Context Task Code Reply Answer Respond Follow Return Raise Let Put Give
    Provide Type Types Model Models Schema Schemas Service Services Router Routers Entity Table
    """.split()  # noqa: SIM905
)
_TYPE_WORDS: dict[str, str] = {
    "str": "str",
    "string": "str",
    "varchar": "str",
    "text": "text",
    "int": "int",
    "integer": "int",
    "float": "float",
    "number": "float",
    "decimal": "decimal",
    "money": "decimal",
    "bool": "bool",
    "boolean": "bool",
    "datetime": "datetime",
    "timestamp": "datetime",
    "date": "date",
    "email": "email",
    "emailstr": "email",
    "uuid": "uuid",
}
_SERVER_FIELDS = frozenset({"id", "created_at", "updated_at"})
_FIELD_LINE_RE = re.compile(
    r"^\s*(?:[-*\u2022]|\d+[.)])\s*`?([a-z_][a-z0-9_]*)`?\s*(?::|\(|\u2014|\u2013|-)\s*`?"
    r"([A-Za-z][\w\[\] |]*)",
    re.MULTILINE,
)
_FIELD_LIST_RE = re.compile(r"\bfields?\s*(?:\([^)]*\))?\s*:\s*([^\n]+)", re.IGNORECASE)
_FIELD_ITEM_RE = re.compile(r"`?([a-z_][a-z0-9_]*)`?\s*(?:\(([^)]*)\)|:\s*([A-Za-z][\w\[\]| ]*))?")
_ENTITY_RES = (
    re.compile(r"\bentity\b\s*(?:name)?\s*[:=]?\s*[`'\"*]*([A-Z][A-Za-z0-9]+)"),
    re.compile(r"\b(?:named|called)\s+[`'\"*]*([A-Z][A-Za-z0-9]+)"),
    re.compile(
        r"\b(?:for|of)\s+(?:the|an?)?\s*[`'\"*]*([A-Z][A-Za-z0-9]+)[`'\"*]*\s+"
        r"(?:entity|model|resource|table|schemas?|service|router|objects?|records?|endpoints?)"
    ),
    re.compile(r"[`'\"*]([A-Z][a-z]+(?:[A-Z][a-z0-9]+)*)[`'\"*]"),
    re.compile(r"\b(?:for|of)\s+(?:the\s+|an?\s+)?([A-Z][A-Za-z0-9]+)\b"),
    re.compile(r"\b([A-Z][a-z]+(?:[A-Z][a-z0-9]+)*)\b"),
)


def _type_of(name: str, declared: str | None) -> tuple[str, bool]:
    optional = False
    if declared:
        words = declared.lower().replace("|", " ").replace("[", " ").replace("]", " ").split()
        optional = "optional" in words or "none" in words or "nullable" in words
        for word in words:
            if word in _TYPE_WORDS:
                kind = _TYPE_WORDS[word]
                if kind in ("str", "uuid", "int") and name.endswith("_id"):
                    return "fk", optional
                if kind == "str" and "email" in name:
                    return "email", optional
                return kind, optional
    if "email" in name:
        return "email", optional
    if name.endswith("_id"):
        return "fk", optional
    if name.endswith("_at"):
        return "datetime", optional
    if name.startswith(("is_", "has_")) or name in ("active", "enabled"):
        return "bool", optional
    if name in ("price", "amount", "total", "balance", "cost"):
        return "decimal", optional
    if name in ("age", "count", "quantity", "stock", "position", "rank", "year"):
        return "int", optional
    if name in ("description", "body", "content", "bio", "notes"):
        return "text", True
    return "str", optional


def _parse_fields(text: str) -> tuple[FieldSpec, ...]:
    found: dict[str, FieldSpec] = {}
    for match in _FIELD_LINE_RE.finditer(text):
        name, declared = match.group(1), match.group(2)
        kind, optional = _type_of(name, declared)
        found.setdefault(name, FieldSpec(name, kind, optional))
    if not found:
        for line in _FIELD_LIST_RE.finditer(text):
            for item in re.split(r",|;|\band\b", line.group(1)):
                match = _FIELD_ITEM_RE.search(item.strip())
                if match is None:
                    continue
                name = match.group(1)
                kind, optional = _type_of(name, match.group(2) or match.group(3))
                found.setdefault(name, FieldSpec(name, kind, optional))
    fields = tuple(f for f in found.values() if f.name not in _SERVER_FIELDS)
    return fields or (FieldSpec("name", "str"), FieldSpec("description", "text", True))


def _entity(text: str) -> str:
    for pattern in _ENTITY_RES:
        for match in pattern.finditer(text):
            word = match.group(1)
            if word not in _NOT_ENTITY and not word.isupper():
                return word
    return "Item"


def _kind(text: str) -> Kind:
    low = text.lower()
    counts = {
        k: sum(len(re.findall(rf"\b{re.escape(w)}\b", low)) for w in ws)
        for k, ws in _KIND_WORDS.items()
    }
    best = max(counts.values())
    if best == 0:
        return "schema"
    for kind in ("router", "service", "model", "schema"):
        if counts[kind] == best:
            return kind  # type: ignore[return-value]
    return "schema"  # pragma: no cover


#: The kind of code each declared item asks for.
_KIND_OF_ITEM: dict[str, Kind] = {
    "route": "router",
    "async-function": "service",
    "function": "service",
    "declarative-model": "model",
    "pydantic-model": "schema",
}
_MODEL_SUFFIXES = ("Create", "Update", "Read", "Out", "Response", "In", "Base")


def _declared_entity(items: Sequence[Mapping[str, Any]]) -> str | None:
    for item in items:
        name = str(item.get("name") or "")
        if item.get("kind") in ("pydantic-model", "declarative-model") and name:
            for suffix in _MODEL_SUFFIXES:
                if name.endswith(suffix) and len(name) > len(suffix):
                    return name[: -len(suffix)]
            return name
    return None


def analyse(
    messages: Sequence[Mapping[str, Any]],
    links: Mapping[str, str] | None = None,
    provides: Sequence[Mapping[str, Any]] = (),
) -> Ask:
    """Read a rendered prompt the way a simulated model does: the task from the prompt and
    the declared items, the rules from the instructions the template links to them."""
    texts = [str(m.get("content") or "") for m in messages]
    users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
    task = users[-1] if users else (texts[-1] if texts else "")
    full = "\n".join(texts)
    rel = re.search(
        r"relationship\w*\s+(?:to|with)\s+(?:an?\s+|the\s+)?`?([A-Z][A-Za-z0-9]+)", full
    )
    obeyed = frozenset(code for code, text in (links or {}).items() if text and text in full)
    kinds = [_KIND_OF_ITEM[str(i.get("kind"))] for i in provides if i.get("kind") in _KIND_OF_ITEM]
    entity = _declared_entity(provides) or _entity(task)
    functions = tuple(
        (str(i["name"]), i.get("kind") == "async-function")
        for i in provides
        if i.get("kind") in ("function", "async-function") and i.get("name")
    )
    routes = tuple(
        Route(str(i.get("method") or "GET").upper(), str(i.get("path") or "/"))
        for i in provides
        if i.get("kind") == "route" and (i.get("method") or i.get("path"))
    )
    return Ask(
        kind=kinds[0] if kinds else _kind(task),
        entity=entity if entity != "Item" else _entity(full),
        fields=_parse_fields(task),
        obeyed=obeyed,
        is_async="async" in full.lower() or any(is_async for _, is_async in functions),
        relationship=rel.group(1) if rel else None,
        functions=functions,
        routes=routes,
    )
