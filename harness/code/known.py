"""Names of the supported libraries that the facts and the rules know, in one place."""

from __future__ import annotations

PYDANTIC_BASES = frozenset(
    {
        "pydantic.BaseModel",
        "pydantic.main.BaseModel",
        "pydantic.RootModel",
        "pydantic.root_model.RootModel",
        "pydantic.v1.BaseModel",
        "pydantic_settings.BaseSettings",
        "pydantic.BaseSettings",
        "sqlmodel.SQLModel",
    }
)
DECLARATIVE_BASES = frozenset(
    {
        "sqlalchemy.orm.DeclarativeBase",
        "sqlalchemy.orm.DeclarativeBaseNoMeta",
        "sqlalchemy.orm.decl_api.DeclarativeBase",
        "sqlalchemy.ext.asyncio.AsyncAttrs",
    }
)
DECLARATIVE_BASE_FACTORIES = frozenset(
    {
        "sqlalchemy.orm.declarative_base",
        "sqlalchemy.ext.declarative.declarative_base",
        "sqlalchemy.orm.decl_api.declarative_base",
    }
)
#: Flask-SQLAlchemy: `db = SQLAlchemy(app)` exposes `sqlalchemy` and `sqlalchemy.orm` names as
#: attributes (`db.Column`, `db.relationship`), `db.Model` (a declarative base) and `db.session`.
FLASK_SQLALCHEMY = frozenset(
    {"flask_sqlalchemy.SQLAlchemy", "flask_sqlalchemy.extension.SQLAlchemy"}
)
FLASK_MODEL = "flask_sqlalchemy.SQLAlchemy.Model"
FLASK_SESSION = "flask_sqlalchemy.SQLAlchemy.session"
#: The `sqlalchemy.orm` names among them; every other attribute is a `sqlalchemy` name.
SQLALCHEMY_ORM_NAMES = frozenset(
    {
        "Mapped",
        "mapped_column",
        "relationship",
        "relation",
        "backref",
        "dynamic_loader",
        "declared_attr",
        "column_property",
        "composite",
        "synonym",
        "deferred",
        "query_expression",
        "validates",
        "aliased",
        "joinedload",
        "selectinload",
        "subqueryload",
        "lazyload",
        "noload",
        "raiseload",
        "contains_eager",
        "load_only",
        "defer",
        "undefer",
        "with_expression",
        "foreign",
        "remote",
        "Session",
        "scoped_session",
        "sessionmaker",
        "DeclarativeBase",
    }
)
#: `sqlalchemy.Column` under every public path.
COLUMN_CALLS = frozenset(
    {"sqlalchemy.Column", "sqlalchemy.schema.Column", "sqlalchemy.sql.schema.Column"}
)
#: `sqlalchemy.orm.mapped_column`.
MAPPED_COLUMN_CALLS = frozenset(
    {"sqlalchemy.orm.mapped_column", "sqlalchemy.orm._orm_constructors.mapped_column"}
)
#: Either way of declaring a column attribute.
ORM_COLUMN_CALLS = COLUMN_CALLS | MAPPED_COLUMN_CALLS

#: Calls returning a session factory, and calls returning a session (or a proxy to one).
SESSION_MAKERS = frozenset(
    {
        "sqlalchemy.orm.sessionmaker",
        "sqlalchemy.orm.session.sessionmaker",
        "sqlalchemy.ext.asyncio.async_sessionmaker",
        "sqlalchemy.ext.asyncio.session.async_sessionmaker",
    }
)
SESSION_CALLS = frozenset(
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.Session",
        "sqlalchemy.orm.scoped_session",
        "sqlalchemy.orm.scoping.scoped_session",
        "sqlalchemy.orm.object_session",
        "sqlalchemy.orm.session.object_session",
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.async_scoped_session",
        "sqlmodel.Session",
    }
)

#: Bases that make a class abstract: it maps no table of its own.
ABSTRACT_BASES = frozenset(
    {
        "sqlalchemy.ext.declarative.AbstractConcreteBase",
        "sqlalchemy.orm.AbstractConcreteBase",
        "sqlalchemy.ext.declarative.api.AbstractConcreteBase",
    }
)
#: Bases only declarative mixins and bases have.
MIXIN_BASES = frozenset(
    {"sqlalchemy.orm.MappedAsDataclass", "sqlalchemy.orm.decl_api.MappedAsDataclass"}
)

MAPPED_ANNOTATIONS = frozenset({"sqlalchemy.orm.Mapped", "sqlalchemy.orm.base.Mapped"})
DECLARATIVE_MIXIN_DECORATORS = frozenset(
    {"sqlalchemy.orm.declarative_mixin", "sqlalchemy.orm.decl_api.declarative_mixin"}
)
#: Annotations (and constructors) that make any name a session.
SESSION_TYPES = frozenset(
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.Session",
        "sqlalchemy.orm.scoped_session",
        "sqlalchemy.orm.scoping.scoped_session",
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.AsyncSession",
        "sqlalchemy.ext.asyncio.async_scoped_session",
        "sqlmodel.Session",
        "sqlmodel.orm.session.Session",
        "sqlmodel.ext.asyncio.session.AsyncSession",
    }
)

#: FastAPI's parameter functions: defaults (or `Annotated` metadata) that FastAPI resolves
#: per request. A function taking one is part of the HTTP layer (a dependency).
FASTAPI_PARAMETERS = tuple(
    f"fastapi.{n}"
    for n in ("Depends", "Security", "Query", "Path", "Body", "Header", "Cookie", "Form", "File")
)

#: Top-level packages of the libraries the rules know: never looked for in the project
#: (unless it has a module of that name), and a base from one of them that is not a
#: declarative base does not make a class an ORM class.
LIBRARIES = frozenset(
    {
        "sqlalchemy",
        "sqlmodel",
        "pydantic",
        "pydantic_settings",
        "fastapi",
        "starlette",
        "flask",
        "flask_sqlalchemy",
        "typing",
        "typing_extensions",
        "logging",
        "datetime",
        "uuid",
        "builtins",
        "abc",
        "enum",
        "dataclasses",
    }
)

#: Pydantic v1 config keys and what Pydantic v2 uses instead, as shown to users (None: removed
#: without a direct replacement). `json_encoders` is deprecated in v2 but still honoured, so
#: it is allowed.
V1_CONFIG_KEYS: dict[str, str | None] = {
    "orm_mode": "`from_attributes`",
    "allow_population_by_field_name": "`populate_by_name`",
    "anystr_strip_whitespace": "`str_strip_whitespace`",
    "anystr_lower": "`str_to_lower`",
    "anystr_upper": "`str_to_upper`",
    "max_anystr_length": "`str_max_length`",
    "min_anystr_length": "`str_min_length`",
    "validate_all": "`validate_default`",
    "allow_mutation": "`frozen` (the opposite value)",
    "schema_extra": "`json_schema_extra`",
    "keep_untouched": "`ignored_types`",
    "underscore_attrs_are_private": None,
    "copy_on_model_validation": None,
    "smart_union": None,
    "fields": None,
    "error_msg_templates": None,
    "getter_dict": None,
    "json_loads": None,
    "json_dumps": None,
    "post_init_call": None,
}

# --- Pydantic v1 API (PYD003) --------------------------------------------------------

V1_VALIDATOR_MODULES = (
    "pydantic",
    "pydantic.class_validators",
    "pydantic.deprecated.class_validators",
)
#: v1 validator decorators under every public path (not the deliberate `pydantic.v1.*`), with
#: their v2 replacements.
V1_VALIDATOR_DECORATORS = {
    f"{module}.{old}": new
    for module in V1_VALIDATOR_MODULES
    for old, new in (("validator", "field_validator"), ("root_validator", "model_validator"))
}
#: v1 class methods of `BaseModel` and their v2 replacements.
V1_CLASS_METHODS = {
    "parse_obj": "model_validate(obj)",
    "parse_raw": "model_validate_json(data)",
    "parse_file": "model_validate_json(path.read_text())",
    "from_orm": "model_validate(obj, from_attributes=True)",
    "update_forward_refs": "model_rebuild()",
    "construct": "model_construct()",
    "schema": "model_json_schema()",
    "schema_json": "json.dumps(Model.model_json_schema())",
    "validate": "model_validate(obj)",
}
#: v1 methods callable on a model instance (the class methods too) and their replacements.
V1_INSTANCE_METHODS = {
    **V1_CLASS_METHODS,
    "dict": "model_dump()",
    "json": "model_dump_json()",
    "copy": "model_copy()",
}
#: `Field(...)` and constrained-type calls whose v1 keywords v2 renamed or removed.
V1_FIELD_CALLS = frozenset(
    {"pydantic.Field", "pydantic.fields.Field"}
    | {
        f"{module}.{name}"
        for module in ("pydantic", "pydantic.types")
        for name in ("constr", "conlist", "conset", "confrozenset", "conbytes")
    }
)
#: v1 keywords of those calls and what v2 has instead.
V1_FIELD_KEYWORDS = {
    "regex": "`pattern=`",
    "min_items": "`min_length=`",
    "max_items": "`max_length=`",
    "unique_items": "a `set` type",
    "allow_mutation": "`frozen=`",
    "const": "a `Literal[...]` type",
}
#: v1 methods no other common library has: a call is v1 API on any receiver.
V1_DISTINCT_METHODS = frozenset(
    {"parse_obj", "parse_raw", "parse_file", "from_orm", "update_forward_refs", "schema_json"}
)
#: Keywords only Pydantic's v1 dump methods take: `.dict(exclude_unset=True)`,
#: `.copy(update=...)` are v1 API on any receiver.
V1_DISTINCT_KEYWORDS = {
    "dict": frozenset({"exclude_unset", "exclude_none", "exclude_defaults", "by_alias"}),
    "json": frozenset({"exclude_unset", "exclude_none", "exclude_defaults", "by_alias"}),
    "copy": frozenset({"update"}),
}
#: Bases v2 moved out of `pydantic` or removed, as resolved names, and what replaces them.
V1_BASES = {
    **dict.fromkeys(
        ("pydantic.BaseSettings", "pydantic.env_settings.BaseSettings"),
        "`pydantic_settings.BaseSettings` (the pydantic-settings package)",
    ),
    "pydantic.generics.GenericModel": "`BaseModel` with `typing.Generic[T]`",
}
#: v1 functions and their v2 replacements.
V1_FUNCTIONS = {
    **dict.fromkeys(
        ("pydantic.parse_obj_as", "pydantic.tools.parse_obj_as"),
        "`TypeAdapter(T).validate_python(obj)`",
    ),
    **dict.fromkeys(
        ("pydantic.parse_raw_as", "pydantic.tools.parse_raw_as"),
        "`TypeAdapter(T).validate_json(data)`",
    ),
    **dict.fromkeys(
        ("pydantic.schema_of", "pydantic.tools.schema_of"), "`TypeAdapter(T).json_schema()`"
    ),
    **dict.fromkeys(
        ("pydantic.schema_json_of", "pydantic.tools.schema_json_of"),
        "`json.dumps(TypeAdapter(T).json_schema())`",
    ),
}
