"""The code a simulated model writes for what the prompt asks, with its habits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.llm.sim.habits import Defects
from harness.llm.sim.prompt import Ask, FieldSpec

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
    # The functions the task names: thin entry points over the service.
    funcs = [
        _head(d, "async def" if is_async else "def", name, f"session: {sess}, {var}_id: {idt}", e)
        + f"    return {'await ' if is_async and ask.is_async else ''}"
        f"{e}Service(session).get_{var}({var}_id)"
        for name, is_async in ask.functions
    ]
    return imp.render() + "\n\n\n" + "\n\n\n".join([*pre, cls, *funcs]) + "\n"


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
        _declared_routes(ask, d, out, idt, df, var)
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
    _declared_routes(ask, d, out, idt, df, var)
    return imp.render() + "\n\n\n" + "\n\n\n".join(out) + "\n"


_ROUTE_RE = re.compile(r'^@router\.(\w+)\("([^"]*)"', re.MULTILINE)
_PARAM_RE = re.compile(r"\{(\w+)\}")


def _declared_routes(ask: Ask, d: Defects, out: list[str], idt: str, df: str, var: str) -> None:
    """Add a handler for each route the task names that the CRUD routes do not cover."""
    have = {
        (m.group(1).upper(), _PARAM_RE.sub("{}", m.group(2)).rstrip("/") or "/")
        for m in _ROUTE_RE.finditer("\n".join(out))
    }
    for i, route in enumerate(ask.routes):
        key = (route.method, _PARAM_RE.sub("{}", route.path).rstrip("/") or "/")
        if key in have:
            continue
        have.add(key)
        params = ", ".join(f"{p}: {idt}" for p in _PARAM_RE.findall(route.path))
        words = [w for w in re.split(r"[^a-z0-9]+", route.path.lower()) if w and "{" not in w]
        name = "_".join([route.method.lower(), var, *words[-1:]]) + (f"_{i}" if i else "")
        out.append(
            f'@router.{route.method.lower()}("{route.path}", status_code=202)\n'
            + _head(d, df, name, params, "dict[str, str]")
            + '    return {"status": "accepted"}'
        )


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
