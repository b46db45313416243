"""Simulated models `sim/careful`, `sim/sloppy`, `sim/chatty`, served through litellm.

They need no key and no network, and answer deterministically: the reply is a function of
the prompt, the model and the sample index. They read the rendered prompt for the entity,
its fields, the kind of code asked for and the instructions it contains, and write code
that follows (or, by model, ignores) those instructions:

- `careful` writes clean modern code and follows every instruction it recognises; where the
  prompt is silent it takes the plain default (int ids, plain `str` for email, ...), so
  removing an instruction from a template makes its score drop.
- `sloppy` writes Pydantic v1 / legacy SQLAlchemy habits, each defect with some probability.
- `chatty` wraps code in prose, sometimes runs out of tokens mid-block, sometimes answers
  with prose only; otherwise its code is decent with a few defects.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

PROVIDER = "sim"
MODELS = ("careful", "sloppy", "chatty")
Kind = Literal["schema", "model", "service", "router"]

# Probability of each defect when the model writes code, by model. A defect only shows
# where the code it belongs to is written (e.g. `query_api` only in services and routers).
DEFECT_RATES: dict[str, dict[str, float]] = {
    "careful": {},
    "sloppy": {
        "int_ids": 0.45,
        "v1_config": 0.35,
        "no_from_attributes": 0.35,
        "v1_api": 0.25,
        "plain_email": 0.35,
        "unbounded_str": 0.35,
        "required_update": 0.3,
        "server_field_in_create": 0.25,
        "any_field": 0.2,
        "query_api": 0.35,
        "swallow": 0.35,
        "http_in_service": 0.35,
        "column_api": 0.35,
        "legacy_base": 0.3,
        "no_tablename": 0.1,
        "backref": 0.3,
        "unindexed_fk": 0.35,
        "utcnow": 0.3,
        "sql_fstring": 0.15,
        "no_annotations": 0.3,
    },
    "chatty": {
        "int_ids": 0.5,
        "v1_config": 0.4,
        "no_from_attributes": 0.45,
        "v1_api": 0.3,
        "plain_email": 0.45,
        "unbounded_str": 0.5,
        "required_update": 0.45,
        "server_field_in_create": 0.3,
        "query_api": 0.45,
        "swallow": 0.45,
        "http_in_service": 0.45,
        "column_api": 0.4,
        "legacy_base": 0.4,
        "unindexed_fk": 0.45,
        "utcnow": 0.4,
        "no_annotations": 0.45,
    },
}
CHATTY_TRUNCATE = 0.15
CHATTY_NO_CODE = 0.10


# --------------------------------------------------------------------------- the prompt


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: str  # str | text | int | float | decimal | bool | datetime | date | email | uuid | fk
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Ask:
    """What a prompt asks for, as far as a simulated model understands it."""

    kind: Kind
    entity: str
    fields: tuple[FieldSpec, ...]
    uuid_ids: bool = False
    from_attributes: bool = False
    select_api: bool = False
    propagate: bool = False
    domain_exceptions: bool = False
    mapped: bool = False
    email_str: bool = False
    max_length: bool = False
    optional_update: bool = False
    is_async: bool = False
    relationship: str | None = None


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


#: An instruction to use UUID ids ("Use UUID for all ids", "UUIDs as primary keys"); a field
#: typed UUID in a case's field list is not one.
UUID_INSTRUCTION = re.compile(
    r"\buse\s+uuids?\b|\buuids?\s+(?:for|as)\s+(?:all\s+|every\s+)?(?:the\s+)?"
    r"(?:ids|identifiers|primary\s+keys)"
)


def analyse(messages: Sequence[Mapping[str, Any]]) -> Ask:
    """Read a rendered prompt the way a simulated model does."""
    texts = [str(m.get("content") or "") for m in messages]
    users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
    task = users[-1] if users else (texts[-1] if texts else "")
    full = "\n".join(texts)
    low = full.lower()
    rel = re.search(
        r"relationship\w*\s+(?:to|with)\s+(?:an?\s+|the\s+)?`?([A-Z][A-Za-z0-9]+)", full
    )
    entity = _entity(task)
    return Ask(
        kind=_kind(task),
        entity=entity if entity != "Item" else _entity(full),
        fields=_parse_fields(task),
        uuid_ids=bool(UUID_INSTRUCTION.search(low)),
        from_attributes="from_attributes" in low or "from attributes" in low,
        select_api=bool(re.search(r"\bselect\s*\(", low))
        or "2.0-style" in low
        or "2.0 style" in low,
        propagate=any(w in low for w in ("propagate", "broad except", "swallow", "bare except"))
        or "except exception" in low,
        domain_exceptions="domain exception" in low
        or "httpexception" in low
        or "custom exception" in low,
        mapped="mapped_column" in low or "mapped[" in low,
        email_str="emailstr" in low,
        max_length="max_length" in low or "max length" in low or "maximum length" in low,
        optional_update=bool(re.search(r"optional|partial update|exclude_unset", low)),
        is_async="async" in low,
        relationship=rel.group(1) if rel else None,
    )


# --------------------------------------------------------------------------- code writing


@dataclass(frozen=True, slots=True)
class Defects:
    """Which habits show in one reply."""

    int_ids: bool = False
    v1_config: bool = False
    no_from_attributes: bool = False
    v1_api: bool = False
    plain_email: bool = False
    unbounded_str: bool = False
    required_update: bool = False
    server_field_in_create: bool = False
    any_field: bool = False
    query_api: bool = False
    swallow: bool = False
    http_in_service: bool = False
    column_api: bool = False
    legacy_base: bool = False
    no_tablename: bool = False
    backref: bool = False
    unindexed_fk: bool = False
    utcnow: bool = False
    sql_fstring: bool = False
    no_annotations: bool = False


def defects_for(ask: Ask, model: str, rng: random.Random) -> Defects:
    """Roll the model's habits, then add what an unasked-for instruction leaves at default."""
    rates = DEFECT_RATES.get(model, {})
    rolled = {name: rng.random() < rate for name, rate in sorted(rates.items())}
    d = Defects(**rolled)
    # Where the prompt is silent, every model takes the plain default.
    return replace(
        d,
        int_ids=d.int_ids or not ask.uuid_ids,
        no_from_attributes=d.no_from_attributes or not ask.from_attributes,
        plain_email=d.plain_email or not ask.email_str,
        unbounded_str=d.unbounded_str or not ask.max_length,
        required_update=d.required_update or not ask.optional_update,
    )


_THIRD = frozenset({"pydantic", "sqlalchemy", "fastapi"})


def _import_order(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


@dataclass(slots=True)
class _Imports:
    modules: set[str] = field(default_factory=set)
    names: dict[str, set[str]] = field(default_factory=dict)

    def add(self, module: str, *names: str) -> None:
        if names:
            self.names.setdefault(module, set()).update(names)
        else:
            self.modules.add(module)

    def render(self) -> str:
        def group(mod: str) -> int:
            if mod.startswith("app"):
                return 2
            return 1 if mod.split(".")[0] in _THIRD else 0

        lines: dict[int, list[str]] = {0: [], 1: [], 2: []}
        for mod in sorted(self.modules):
            lines[group(mod)].append(f"import {mod}")
        for mod in sorted(self.names):
            names = ", ".join(sorted(self.names[mod], key=_import_order))
            lines[group(mod)].append(f"from {mod} import {names}")
        return "\n\n".join("\n".join(ls) for ls in lines.values() if ls)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


_PY_TYPES = {
    "str": "str",
    "text": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "datetime": "datetime",
    "date": "date",
    "decimal": "Decimal",
    "uuid": "UUID",
    "email": "str",
}
_STR_LEN = {"text": 2000, "email": 320}


def _id_type(d: Defects, imp: _Imports) -> str:
    if d.int_ids:
        return "int"
    imp.add("uuid", "UUID")
    return "UUID"


def _py_type(f: FieldSpec, d: Defects, imp: _Imports) -> str:
    if f.type == "fk":
        return _id_type(d, imp)
    if f.type == "email" and not d.plain_email:
        imp.add("pydantic", "EmailStr")
        return "EmailStr"
    t = _PY_TYPES[f.type]
    if t in ("datetime", "date"):
        imp.add("datetime", t)
    elif t == "Decimal":
        imp.add("decimal", "Decimal")
    elif t == "UUID":
        imp.add("uuid", "UUID")
    return t


def _schema_field(f: FieldSpec, d: Defects, imp: _Imports, *, optional: bool) -> str:
    t = _py_type(f, d, imp)
    bounded = t == "str" and not d.unbounded_str
    opt = optional or f.optional
    ann = f"{t} | None" if opt else t
    if bounded:
        imp.add("pydantic", "Field")
        limit = _STR_LEN.get(f.type, 255)
        if opt:
            return f"    {f.name}: {ann} = Field(default=None, max_length={limit})"
        return f"    {f.name}: {ann} = Field(min_length=1, max_length={limit})"
    return f"    {f.name}: {ann} = None" if opt else f"    {f.name}: {ann}"


def write_schemas(ask: Ask, d: Defects) -> str:
    e = ask.entity
    imp = _Imports()
    imp.add("pydantic", "BaseModel")
    out: list[str] = []
    base = [_schema_field(f, d, imp, optional=False) for f in ask.fields]
    if d.any_field:
        imp.add("typing", "Any")
        base.append("    extra: dict[str, Any] = {}")
    out.append(f"class {e}Base(BaseModel):\n" + "\n".join(base))
    create: list[str] = []
    if d.server_field_in_create:
        create.append(f"    id: {_id_type(d, imp)}")
    if d.v1_api:
        imp.add("pydantic", "validator")
        first = ask.fields[0].name
        create.append(
            f'\n    @validator("{first}")\n    def {first}_not_blank(cls, v):\n'
            f"        if not str(v).strip():\n"
            f'            raise ValueError("{first} must not be blank")\n'
            f"        return v"
        )
    out.append(f"class {e}Create({e}Base):\n" + ("\n".join(create) if create else "    pass"))
    if d.required_update:
        out.append(f"class {e}Update({e}Base):\n    pass")
    else:
        upd = [_schema_field(f, d, imp, optional=True) for f in ask.fields]
        out.append(f"class {e}Update(BaseModel):\n" + "\n".join(upd))
    read: list[str] = []
    if not d.no_from_attributes and not d.v1_config:
        imp.add("pydantic", "ConfigDict")
        read.append("    model_config = ConfigDict(from_attributes=True)\n")
    read.append(f"    id: {_id_type(d, imp)}")
    imp.add("datetime", "datetime")
    read.append("    created_at: datetime")
    if d.v1_config:
        read.append("\n    class Config:\n        orm_mode = True")
    out.append(f"class {e}Read({e}Base):\n" + "\n".join(read))
    return imp.render() + "\n\n\n" + "\n\n\n".join(out) + "\n"


_COLUMN_TYPES = {
    "int": "Integer",
    "float": "Float",
    "bool": "Boolean",
    "datetime": "DateTime",
    "date": "Date",
    "uuid": "Uuid",
}


def _sqla_type(f: FieldSpec, imp: _Imports) -> str | None:
    """The SQLAlchemy column type to spell out, or None when the annotation says enough."""
    if f.type in ("str", "email"):
        imp.add("sqlalchemy", "String")
        return f"String({_STR_LEN.get(f.type, 255)})"
    if f.type == "text":
        imp.add("sqlalchemy", "Text")
        return "Text"
    if f.type == "decimal":
        imp.add("sqlalchemy", "Numeric")
        return "Numeric(10, 2)"
    return None


def write_model(ask: Ask, d: Defects) -> str:
    e = ask.entity
    table = _plural(_snake(e))
    imp = _Imports()
    lines: list[str] = []
    pre: list[str] = []
    if d.legacy_base:
        imp.add("sqlalchemy.orm", "declarative_base")
        pre.append("Base = declarative_base()")
    else:
        imp.add("sqlalchemy.orm", "DeclarativeBase")
        pre.append("class Base(DeclarativeBase):\n    pass")
    if not d.no_tablename:
        lines.append(f'    __tablename__ = "{table}"\n')
    legacy = d.column_api
    if legacy:
        imp.add("sqlalchemy", "Column")
    else:
        imp.add("sqlalchemy.orm", "Mapped", "mapped_column")

    def col(name: str, py: str, sa: str | None, *args: str) -> str:
        parts = ", ".join(a for a in (sa, *args) if a)
        if legacy:
            return f"    {name} = Column({parts})"
        return f"    {name}: Mapped[{py}] = mapped_column({parts})"

    def sa_id() -> str | None:
        if not legacy:
            return None
        name = "Integer" if d.int_ids else "Uuid"
        imp.add("sqlalchemy", name)
        return name

    if d.int_ids:
        lines.append(col("id", "int", sa_id(), "primary_key=True"))
    else:
        imp.add("uuid")
        lines.append(col("id", "uuid.UUID", sa_id(), "primary_key=True", "default=uuid.uuid4"))
    for f in ask.fields:
        if f.type == "fk":
            target = _plural(f.name.removesuffix("_id")) + ".id"
            imp.add("sqlalchemy", "ForeignKey")
            idx = () if d.unindexed_fk else ("index=True",)
            py = "int" if d.int_ids else "uuid.UUID"
            if not d.int_ids:
                imp.add("uuid")
            null = ("nullable=True",) if f.optional and legacy else ()
            ann = f"{py} | None" if f.optional else py
            lines.append(col(f.name, ann, sa_id(), f'ForeignKey("{target}")', *idx, *null))
            continue
        sa = _sqla_type(f, imp)
        py = {"email": "str", "text": "str"}.get(f.type, _PY_TYPES.get(f.type, "str"))
        if not legacy:
            if py in ("datetime", "date"):
                imp.add("datetime", py)
            elif py == "Decimal":
                imp.add("decimal", "Decimal")
            elif py == "UUID":
                imp.add("uuid", "UUID")
        if legacy and sa is None:
            sa = _COLUMN_TYPES.get(f.type, "String")
            imp.add("sqlalchemy", sa)
        extra: list[str] = []
        if f.type == "email":
            extra += ["unique=True", "index=True"]
        if f.optional and legacy:
            extra.append("nullable=True")
        if f.type == "bool":
            extra.append("default=True")
        lines.append(col(f.name, f"{py} | None" if f.optional else py, sa, *extra))
    if d.utcnow:
        imp.add("datetime", "datetime")
        if legacy:
            imp.add("sqlalchemy", "DateTime")
        sa_dt = "DateTime" if legacy else None
        lines.append(col("created_at", "datetime", sa_dt, "default=datetime.utcnow"))
    else:
        imp.add("sqlalchemy", "DateTime", "func")
        if not legacy:
            imp.add("datetime", "datetime")
        lines.append(
            col("created_at", "datetime", "DateTime(timezone=True)", "server_default=func.now()")
        )
    if ask.relationship:
        other = ask.relationship
        attr = _snake(other)
        back = _plural(_snake(e))
        imp.add("sqlalchemy.orm", "relationship")
        if d.backref:
            rel = f'relationship("{other}", backref="{back}")'
        elif legacy:
            rel = f'relationship("{other}", back_populates="{back}")'
        else:
            rel = f'relationship(back_populates="{back}")'
        if legacy:
            lines.append(f"\n    {attr} = {rel}")
        else:
            imp.add("typing", "TYPE_CHECKING")
            pre.insert(0, f"if TYPE_CHECKING:\n    from app.models.{_snake(other)} import {other}")
            lines.append(f'\n    {attr}: Mapped["{other}"] = {rel}')
    body = f"class {e}(Base):\n" + "\n".join(lines)
    return imp.render() + "\n\n\n" + "\n\n\n".join(pre) + "\n\n\n" + body + "\n"


_ANNOTATION_RE = re.compile(r": [^,=]+?(?: = |(?=,|$))")


def _sig(d: Defects, params: str, ret: str) -> str:
    if d.no_annotations:
        bare = _ANNOTATION_RE.sub(lambda m: "=" if "=" in m[0] else "", params)
        return f"({bare})"
    return f"({params}) -> {ret}"


def _head(d: Defects, df: str, name: str, params: str, ret: str) -> str:
    return f"{df} {name}{_sig(d, params, ret)}:\n"


def write_service(ask: Ask, d: Defects) -> str:
    e = ask.entity
    var = _snake(e)
    many = _plural(var)
    imp = _Imports()
    aw = "await " if ask.is_async else ""
    df = "async def" if ask.is_async else "def"
    imp.add(f"app.models.{var}", e)
    imp.add(f"app.schemas.{var}", f"{e}Create", f"{e}Update")
    sess = "AsyncSession" if ask.is_async else "Session"
    imp.add("sqlalchemy.ext.asyncio" if ask.is_async else "sqlalchemy.orm", sess)
    idt = _id_type(d, imp)
    pre: list[str] = []
    if d.http_in_service:
        imp.add("fastapi", "HTTPException")
        missing = f'raise HTTPException(status_code=404, detail="{e} not found")'
    else:
        pre.append(
            f"class {e}NotFoundError(Exception):\n"
            f"    def __init__(self, {var}_id: {idt}) -> None:\n"
            f'        super().__init__(f"{e} {{{var}_id}} not found")\n'
            f"        self.{var}_id = {var}_id"
        )
        missing = f"raise {e}NotFoundError({var}_id)"
    dump = "dict" if d.v1_api else "model_dump"
    page = f"select({e}).offset(offset).limit(limit)"
    if d.query_api:
        get_body = f"        {var} = self.session.query({e}).filter({e}.id == {var}_id).first()\n"
        list_expr = f"self.session.query({e}).offset(offset).limit(limit).all()"
    else:
        imp.add("sqlalchemy", "select")
        get_body = f"        {var} = {aw}self.session.get({e}, {var}_id)\n"
        if ask.is_async:
            list_expr = f"list((await self.session.scalars({page})).all())"
        else:
            list_expr = f"list(self.session.scalars({page}))"
    if d.swallow:
        list_body = (
            f"        try:\n            return {list_expr}\n"
            "        except Exception:\n            return []"
        )
    else:
        list_body = f"        return {list_expr}"
    m: list[str] = [
        f"    def __init__(self, session: {sess}) -> None:\n        self.session = session"
    ]
    m.append(
        "    "
        + _head(d, df, f"get_{var}", f"self, {var}_id: {idt}", e)
        + get_body
        + f"        if {var} is None:\n            {missing}\n        return {var}"
    )
    m.append(
        "    "
        + _head(d, df, f"list_{many}", "self, offset: int = 0, limit: int = 50", f"list[{e}]")
        + list_body
    )
    if d.sql_fstring:
        imp.add("sqlalchemy", "text")
        first = ask.fields[0].name
        m.append(
            "    "
            + _head(d, df, f"find_by_{first}", f"self, {first}: str", f"{e} | None")
            + f"        result = {aw}self.session.execute(\n"
            f"            text(f\"SELECT * FROM {many} WHERE {first} = '{{{first}}}'\")\n"
            "        )\n"
            "        return result.first()"
        )
    m.append(
        "    "
        + _head(d, df, f"create_{var}", f"self, data: {e}Create", e)
        + f"        {var} = {e}(**data.{dump}())\n"
        f"        self.session.add({var})\n"
        f"        {aw}self.session.commit()\n"
        f"        {aw}self.session.refresh({var})\n"
        f"        return {var}"
    )
    m.append(
        "    "
        + _head(d, df, f"update_{var}", f"self, {var}_id: {idt}, data: {e}Update", e)
        + f"        {var} = {aw}self.get_{var}({var}_id)\n"
        f"        for name, value in data.{dump}(exclude_unset=True).items():\n"
        f"            setattr({var}, name, value)\n"
        f"        {aw}self.session.commit()\n"
        f"        {aw}self.session.refresh({var})\n"
        f"        return {var}"
    )
    m.append(
        "    "
        + _head(d, df, f"delete_{var}", f"self, {var}_id: {idt}", "None")
        + f"        {var} = {aw}self.get_{var}({var}_id)\n"
        f"        {aw}self.session.delete({var})\n"
        f"        {aw}self.session.commit()"
    )
    cls = f"class {e}Service:\n" + "\n\n".join(m)
    return imp.render() + "\n\n\n" + "\n\n\n".join([*pre, cls]) + "\n"


def _router_with_db(ask: Ask, d: Defects, imp: _Imports, out: list[str], idt: str) -> None:
    """Sloppy habit: the router talks to the database itself."""
    e = ask.entity
    var = _snake(e)
    many = _plural(var)
    imp.add("sqlalchemy.orm", "Session")
    imp.add("app.db", "get_db")
    imp.add(f"app.models.{var}", e)
    dep = "db: Session = Depends(get_db)"
    lst = f"db.query({e}).offset(offset).limit(limit).all()"
    get = f"db.query({e}).filter({e}.id == {var}_id).first()"
    missing = (
        f"    if {var} is None:\n"
        f'        raise HTTPException(status_code=404, detail="{e} not found")\n'
    )
    if d.swallow:
        body_list = f"    try:\n        return {lst}\n    except Exception:\n        return []"
    else:
        body_list = f"    return {lst}"
    dump = "dict" if d.v1_api else "model_dump"
    out.append(
        f'@router.get("/", response_model=list[{e}Read])\n'
        + _head(d, "def", f"list_{many}", f"offset: int = 0, limit: int = 50, {dep}", "list")
        + body_list
    )
    out.append(
        f'@router.get("/{{{var}_id}}", response_model={e}Read)\n'
        + _head(d, "def", f"get_{var}", f"{var}_id: {idt}, {dep}", e)
        + f"    {var} = {get}\n"
        + missing
        + f"    return {var}"
    )
    out.append(
        f'@router.post("/", response_model={e}Read, status_code=201)\n'
        + _head(d, "def", f"create_{var}", f"data: {e}Create, {dep}", e)
        + f"    {var} = {e}(**data.{dump}())\n"
        f"    db.add({var})\n    db.commit()\n    db.refresh({var})\n    return {var}"
    )
    out.append(
        f'@router.patch("/{{{var}_id}}", response_model={e}Read)\n'
        + _head(d, "def", f"update_{var}", f"{var}_id: {idt}, data: {e}Update, {dep}", e)
        + f"    {var} = {get}\n"
        + missing
        + f"    for name, value in data.{dump}(exclude_unset=True).items():\n"
        f"        setattr({var}, name, value)\n"
        f"    db.commit()\n    return {var}"
    )


def write_router(ask: Ask, d: Defects) -> str:
    e = ask.entity
    var = _snake(e)
    many = _plural(var)
    imp = _Imports()
    imp.add("fastapi", "APIRouter", "Depends", "HTTPException", "status")
    imp.add(f"app.schemas.{var}", f"{e}Create", f"{e}Read", f"{e}Update")
    idt = _id_type(d, imp)
    aw = "await " if ask.is_async else ""
    df = "async def" if ask.is_async else "def"
    out = [f'router = APIRouter(prefix="/{many.replace("_", "-")}", tags=["{many}"])']
    if d.query_api:
        _router_with_db(ask, d, imp, out, idt)
        return imp.render() + "\n\n\n" + "\n\n\n".join(out) + "\n"
    imp.add("typing", "Annotated")
    imp.add(f"app.services.{var}", f"{e}NotFoundError", f"{e}Service", f"get_{var}_service")
    out.append(f"ServiceDep = Annotated[{e}Service, Depends(get_{var}_service)]")
    not_found = (
        f"    except {e}NotFoundError as exc:\n"
        "        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=str(exc))"
        " from exc\n"
    )
    list_call = f"{aw}service.list_{many}(offset=offset, limit=limit)"
    if d.swallow:
        list_body = (
            f"    try:\n        {many} = {list_call}\n    except Exception:\n        return []\n"
        )
    else:
        list_body = f"    {many} = {list_call}\n"
    read = f"{e}Read"
    out.append(
        f'@router.get("/", response_model=list[{read}])\n'
        + _head(
            d,
            df,
            f"list_{many}",
            "service: ServiceDep, offset: int = 0, limit: int = 50",
            f"list[{read}]",
        )
        + list_body
        + f"    return [{read}.model_validate(item) for item in {many}]"
    )
    out.append(
        f'@router.get("/{{{var}_id}}", response_model={read})\n'
        + _head(d, df, f"get_{var}", f"{var}_id: {idt}, service: ServiceDep", read)
        + f"    try:\n        {var} = {aw}service.get_{var}({var}_id)\n"
        + not_found
        + f"    return {read}.model_validate({var})"
    )
    out.append(
        f'@router.post("/", response_model={read}, status_code=status.HTTP_201_CREATED)\n'
        + _head(d, df, f"create_{var}", f"data: {e}Create, service: ServiceDep", read)
        + f"    {var} = {aw}service.create_{var}(data)\n"
        f"    return {read}.model_validate({var})"
    )
    out.append(
        f'@router.patch("/{{{var}_id}}", response_model={read})\n'
        + _head(
            d, df, f"update_{var}", f"{var}_id: {idt}, data: {e}Update, service: ServiceDep", read
        )
        + f"    try:\n        {var} = {aw}service.update_{var}({var}_id, data)\n"
        + not_found
        + f"    return {read}.model_validate({var})"
    )
    out.append(
        f'@router.delete("/{{{var}_id}}", status_code=status.HTTP_204_NO_CONTENT)\n'
        + _head(d, df, f"delete_{var}", f"{var}_id: {idt}, service: ServiceDep", "None")
        + f"    try:\n        {aw}service.delete_{var}({var}_id)\n"
        + not_found.rstrip("\n")
    )
    return imp.render() + "\n\n\n" + "\n\n\n".join(out) + "\n"


WRITERS = {
    "schema": write_schemas,
    "model": write_model,
    "service": write_service,
    "router": write_router,
}
_FROM_IMPORT_RE = re.compile(r"^from (\S+) import (.+)$", re.MULTILINE)


def _prune_imports(code: str) -> str:
    """Drop imported names the generated body never uses (our own output, not user code)."""
    body = _FROM_IMPORT_RE.sub("", code)

    def keep(match: re.Match[str]) -> str:
        names = [n.strip() for n in match.group(2).split(",")]
        used = [n for n in names if re.search(rf"\b{re.escape(n)}\b", body)]
        return f"from {match.group(1)} import {', '.join(used)}" if used else ""

    pruned = _FROM_IMPORT_RE.sub(keep, code)
    return re.sub(r"\n{3,}(?=(?:from|import) )", "\n\n", pruned).lstrip()


def write_code(ask: Ask, defects: Defects) -> str:
    """The code a simulated model writes for `ask` with these habits."""
    return _prune_imports(WRITERS[ask.kind](ask, defects))


# --------------------------------------------------------------------------- replies


@dataclass(frozen=True, slots=True)
class SimReply:
    text: str
    finish_reason: str  # "stop" | "length"


_CHATTY_OPENERS = (
    "Sure! Here's a clean, production-ready implementation of the {what} for `{e}`.",
    "Great question! Below is how I would write the {what} for `{e}` in a modern codebase.",
    "Absolutely. Let's build the {what} for `{e}` step by step.",
)
_CHATTY_CLOSERS = (
    "A few notes:\n\n- Keep this module small and focused.\n- Add tests for edge cases.\n\n"
    "Let me know if you want me to add pagination or tests!",
    "This keeps things easy to maintain. If you'd like, I can also write the matching "
    "tests or an Alembic migration.",
    "Hope this helps! Feel free to ask if anything is unclear.",
)
_WHAT = {
    "schema": "Pydantic schemas",
    "model": "SQLAlchemy model",
    "service": "service layer",
    "router": "FastAPI router",
}


def seed_of(model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> int:
    """The random seed of one reply: model, prompt, `seed` param and sample index."""
    blob = json.dumps(
        {
            "model": model,
            "messages": [[m.get("role"), m.get("content")] for m in messages],
            "seed": params.get("seed"),
            "sample": params.get("sim_sample"),
        },
        sort_keys=True,
        default=str,
    )
    return int.from_bytes(hashlib.sha256(blob.encode()).digest()[:8], "big")


def respond(
    model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any] | None = None
) -> SimReply:
    """The simulated model's reply: pure and deterministic."""
    params = params or {}
    name = model.removeprefix(f"{PROVIDER}/")
    if name not in MODELS:
        raise ValueError(f"unknown simulated model {model!r}; use one of: {', '.join(MODELS)}")
    rng = random.Random(seed_of(name, messages, params))
    ask = analyse(messages)
    what = _WHAT[ask.kind]
    if name == "chatty":
        roll = rng.random()
        opener = rng.choice(_CHATTY_OPENERS).format(what=what, e=ask.entity)
        if roll < CHATTY_NO_CODE:
            return SimReply(
                f"{opener}\n\nBefore writing code, it's worth thinking about the design. "
                f"A `{ask.entity}` usually needs validation at the boundary, a persistence "
                "model, and a thin service in between. I'd recommend starting from your "
                "domain requirements, then deciding on ids, timestamps and how errors "
                "should reach the API. Once you confirm these choices I can write the code.",
                "stop",
            )
        code = write_code(ask, defects_for(ask, name, rng))
        if roll < CHATTY_NO_CODE + CHATTY_TRUNCATE:
            lines = code.splitlines()
            cut = max(3, int(len(lines) * (0.4 + 0.4 * rng.random())))
            return SimReply(f"{opener}\n\n```python\n" + "\n".join(lines[:cut]) + "\n", "length")
        closer = rng.choice(_CHATTY_CLOSERS)
        return SimReply(f"{opener}\n\n```python\n{code}```\n\n{closer}\n", "stop")
    code = write_code(ask, defects_for(ask, name, rng))
    if name == "sloppy" and rng.random() < 0.5:
        return SimReply(f"Here is the code:\n\n```python\n{code}```\n", "stop")
    return SimReply(f"```python\n{code}```\n", "stop")


def _tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def _model_response(model: str, messages: list, params: Mapping[str, Any], response: Any) -> Any:
    from litellm.types.utils import Usage

    reply = respond(model, messages, params)
    prompt_tokens = sum(_tokens(str(m.get("content") or "")) for m in messages)
    completion_tokens = _tokens(reply.text)
    response.choices[0].message.content = reply.text
    response.choices[0].finish_reason = reply.finish_reason
    response.model = f"{PROVIDER}/{model.removeprefix(f'{PROVIDER}/')}"
    response.usage = Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )
    return response


def _latency(params: Mapping[str, Any]) -> float:
    try:
        return max(0.0, float(params.get("sim_latency_ms") or 0)) / 1000.0
    except (TypeError, ValueError):
        return 0.0


_HANDLER: list[Any] = []


def _handler() -> Any:
    if _HANDLER:
        return _HANDLER[0]
    from litellm import CustomLLM

    class SimLLM(CustomLLM):  # type: ignore[misc]
        """litellm provider `sim`: deterministic simulated models."""

        def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            params = kwargs.get("optional_params") or {}
            delay = _latency(params)
            if delay:
                time.sleep(delay)
            return _model_response(model, messages, params, kwargs["model_response"])

        async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            params = kwargs.get("optional_params") or {}
            delay = _latency(params)
            if delay:
                await asyncio.sleep(delay)
            return _model_response(model, messages, params, kwargs["model_response"])

    _HANDLER.append(SimLLM())
    return _HANDLER[0]


def register() -> None:
    """Install the `sim` provider in litellm (idempotent)."""
    from harness.llm import load_litellm

    litellm = load_litellm()
    handler = _handler()
    if not any(item.get("provider") == PROVIDER for item in litellm.custom_provider_map):
        litellm.custom_provider_map.append({"provider": PROVIDER, "custom_handler": handler})
    from litellm.utils import custom_llm_setup

    custom_llm_setup()
