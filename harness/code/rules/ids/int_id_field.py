from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassKind
from harness.code.matchers import (
    SQLMODEL_FIELD_CALLS,
    TYPING_ANNOTATED,
    class_attributes,
    column_call,
    column_type_is_int,
    declarative_class,
    foreign_key_of,
    is_int_annotation,
    keyword_arg,
    keyword_is_true,
    mapped_inner,
    unwrap_annotated,
)
from harness.code.models import is_read_model, model_fields
from harness.code.rule import CodeRule
from harness.registry import Example

_SA_IMPORTS = (
    "import uuid\n\nfrom sqlalchemy import ForeignKey\n"
    "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n\n\n"
    "class Base(DeclarativeBase):\n    pass\n\n\n"
)


class IntIdField(CodeRule):
    """
    ## What it does
    Flags ids typed as integers instead of UUIDs:

    - in SQLAlchemy ORM classes (models, abstract bases, mixins), a primary-key column or a
      `ForeignKey` column whose SQL type is `Integer` / `BigInteger` / `SmallInteger` (under
      any alias, `sa.Integer` or `Integer()`), or, without an explicit SQL type, whose
      annotation is `Mapped[int]` (also through an `Annotated[int, mapped_column(...)]`
      alias such as `intpk`);
    - in SQLModel tables, a `Field(primary_key=True)` or `Field(foreign_key=...)` annotated
      `int` (also `int | None`);
    - in Pydantic read models (a name ending with one of `read_model_suffixes`, or used as a
      `response_model=`), a field `id` or `<name>_id` annotated `int`.

    Other integer columns, write models, dataclasses and plain classes are not checked.

    ## Why is this bad?
    Sequential integer ids leak how many rows exist and how fast they grow, invite
    enumeration (`/users/1`, `/users/2`, ...) when an authorization check is missing, and
    collide when data from two databases or shards is merged. A UUID can also be generated
    by the application before the insert.

    ## Example
    ```python
    class User(Base):
        __tablename__ = "users"

        id: Mapped[int] = mapped_column(primary_key=True)


    class UserRead(BaseModel):
        id: int
    ```

    ## Use instead
    ```python
    class User(Base):
        __tablename__ = "users"

        id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


    class UserRead(BaseModel):
        id: uuid.UUID
    ```
    """

    code = "IDS001"
    name = "int-id-field"
    message = "Integer id; use a UUID (`uuid.UUID`) for primary keys and ids"
    valid = (
        _SA_IMPORTS + "class User(Base):\n    __tablename__ = 'users'\n"
        "    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)\n"
        "    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey('orgs.id'), index=True)\n"
        "    login_count: Mapped[int] = mapped_column(default=0)\n",
        # Core tables, plain dataclasses and write models are not checked.
        "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n"
        "users = sa.Table('users', metadata, sa.Column('id', sa.Integer, primary_key=True))\n",
        "from dataclasses import dataclass\n\n\n@dataclass\nclass UserRead:\n    id: int\n",
        "from pydantic import BaseModel\n\n\nclass UserCreate(BaseModel):\n"
        "    org_id: int\n    age: int\n\n\nclass UserRead(BaseModel):\n"
        "    id: str\n    age: int\n",
        # Explicit UUID type with an imported base; a docstring mentioning the pattern.
        "import sqlalchemy as sa\nfrom sqlalchemy.dialects.postgresql import UUID\n"
        "from app.db import Base\n\n\nclass User(Base):\n"
        '    """id = Column(Integer, primary_key=True) is what we avoid."""\n\n'
        "    __tablename__ = 'users'\n"
        "    id = sa.Column(UUID(as_uuid=True), primary_key=True)\n",
        "import uuid\n\nfrom sqlmodel import Field, SQLModel\n\n\n"
        "class Hero(SQLModel, table=True):\n"
        "    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)\n"
        "    age: int | None = None\n",
    )
    invalid = (
        Example(
            "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n\n\n"
            "class User(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n",
            line=7,
        ),
        Example(
            _SA_IMPORTS + "class User(Base):\n    __tablename__ = 'users'\n"
            "    id: Mapped[int] = mapped_column(primary_key=True)\n",
            line=13,
        ),
        Example(
            "import sqlalchemy as sa\nfrom sqlalchemy.ext.declarative import declarative_base\n"
            "\nBase = declarative_base()\n\n\nclass Post(Base):\n    __tablename__ = 'posts'\n"
            "    id = sa.Column(sa.Integer, primary_key=True)\n"
            "    author_id = sa.Column(sa.BigInteger(), sa.ForeignKey('users.id'))\n"
            "    views = sa.Column(sa.Integer, default=0)\n",
            line=9,
            count=2,
        ),
        # An imported base and an `Annotated` alias.
        Example(
            "from typing import Annotated\n\nfrom sqlalchemy.orm import Mapped, mapped_column\n"
            "from app.db import Base\n\n"
            "intpk = Annotated[int, mapped_column(primary_key=True)]\n\n\n"
            "class Tag(Base):\n    __tablename__ = 'tags'\n    id: Mapped[intpk]\n",
            line=11,
        ),
        Example(
            "from sqlmodel import Field, SQLModel\n\n\nclass Hero(SQLModel, table=True):\n"
            "    id: int | None = Field(default=None, primary_key=True)\n",
            line=5,
        ),
        # A table built on a local SQLModel base.
        Example(
            "from sqlmodel import Field, SQLModel\n\n\nclass TeamBase(SQLModel):\n"
            "    name: str\n\n\nclass Team(TeamBase, table=True):\n"
            "    id: int = Field(primary_key=True)\n",
            line=9,
        ),
        Example(
            "from typing import Optional\n\nfrom pydantic import BaseModel\n\n\n"
            "class UserRead(BaseModel):\n    id: int\n    org_id: Optional[int] = None\n"
            "    name: str\n    age: int\n",
            line=7,
            count=2,
        ),
    )

    def visit_Module(self, node: cst.Module) -> None:
        """Module-level `Annotated[int, mapped_column(...)]` aliases (`intpk`)."""
        self._aliases: dict[str, cst.Subscript] = {}
        for line in node.body:
            if not isinstance(line, cst.SimpleStatementLine):
                continue
            for stmt in line.body:
                if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1:
                    target, value = stmt.targets[0].target, stmt.value
                elif isinstance(stmt, cst.AnnAssign) and stmt.value is not None:
                    target, value = stmt.target, stmt.value
                else:
                    continue
                if (
                    isinstance(target, cst.Name)
                    and isinstance(value, cst.Subscript)
                    and self.facts.resolve(value.value) in TYPING_ANNOTATED
                ):
                    self._aliases[target.value] = value

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        info = self.facts.class_info(node)
        if info is None:
            return
        if info.kind is ClassKind.PYDANTIC:
            if is_read_model(info, self.facts, self.settings):
                for field in model_fields(node, self.facts):
                    if (field.name == "id" or field.name.endswith("_id")) and is_int_annotation(
                        field.annotation, self.facts
                    ):
                        self.report(field.node.target)
        elif info.kind is ClassKind.SQLMODEL_TABLE:
            self._check_sqlmodel(node)
        elif declarative_class(node, self.facts) is not None:
            self._check_declarative(node)

    def _check_declarative(self, node: cst.ClassDef) -> None:
        for attr in class_attributes(node):
            inner = mapped_inner(attr.annotation, self.facts)
            calls = []
            column = column_call(attr.value, self.facts)
            if column is not None:
                calls.append(column)
            if inner is not None:
                alias = self._aliases.get(inner.value) if isinstance(inner, cst.Name) else None
                inner, meta = unwrap_annotated(alias or inner, self.facts)
                calls.extend(c for c in meta if column_call(c, self.facts) is not None)
            if calls and self._is_int_key(calls, inner):
                self.report(attr.target)

    def _is_int_key(self, calls: list[cst.Call], annotation: cst.BaseExpression | None) -> bool:
        if not any(
            keyword_is_true(c, "primary_key") or foreign_key_of(c, self.facts) is not None
            for c in calls
        ):
            return False
        for call in calls:
            explicit = column_type_is_int(call, self.facts)
            if explicit is not None:
                return explicit
        return annotation is not None and is_int_annotation(annotation, self.facts)

    def _check_sqlmodel(self, node: cst.ClassDef) -> None:
        for attr in class_attributes(node):
            value = attr.value
            if not (
                isinstance(value, cst.Call)
                and self.facts.resolve(value.func) in SQLMODEL_FIELD_CALLS
            ):
                continue
            sa_column = keyword_arg(value, "sa_column")
            column = column_call(sa_column.value, self.facts) if sa_column else None
            if column is not None:
                is_int = self._is_int_key([column], attr.annotation)
            else:
                is_key = keyword_is_true(value, "primary_key") or (
                    keyword_arg(value, "foreign_key") is not None
                )
                is_int = is_key and is_int_annotation(attr.annotation, self.facts)
            if is_int:
                self.report(attr.target)
