from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassKind
from harness.code.matchers import (
    SQLMODEL_FIELD_CALLS,
    TABLE_CALLS,
    TYPING_ANNOTATED,
    callee_tail,
    class_attributes,
    column_call,
    column_type_is_int,
    declarative_class,
    foreign_key_of,
    is_int_annotation,
    keyword_arg,
    keyword_is_true,
    mapped_inner,
    positional_args,
    unwrap_annotated,
)
from harness.code.models import is_input_model, is_read_model, model_fields, reads_orm_objects
from harness.code.rule import CodeRule
from harness.registry import Invalid, Valid


class IntIdField(CodeRule):
    """
    ## What it does
    Flags ids typed as integers instead of UUIDs:

    - in SQLAlchemy ORM classes (models, abstract bases, mixins), a primary-key column or a
      `ForeignKey` column whose SQL type is `Integer` / `BigInteger` / `SmallInteger` (under
      any alias, `sa.Integer` or `Integer()`), or, without an explicit SQL type, whose
      annotation is `Mapped[int]` (also through an `Annotated[int, mapped_column(...)]`
      alias such as `intpk`);
    - in Core tables, a primary-key or `ForeignKey` `Column(...)` of `Table(...)` with an
      integer SQL type;
    - in SQLModel tables, a `Field(primary_key=True)` or `Field(foreign_key=...)` annotated
      `int` (also `int | None`);
    - in Pydantic read models (a name ending with one of `read_model_suffixes`, used as a
      `response_model=` by a route of any file of the project, or built from ORM objects:
      `from_attributes=True` or v1's `orm_mode = True` in its config or a local base's, as
      FastAPI's tutorial `class Item(ItemBase)` does), a field `id` or `<name>_id` annotated
      `int`. Input models (`rules.input_model_suffixes`) are not read models.

    Other integer columns, write models, dataclasses and plain classes are not checked.

    A class is an ORM class through its base in any file of the project, or, when its base is
    unknown (a fragment: "the rest is unchanged"), when its body has `__tablename__` or
    `Column(...)` / `mapped_column(...)` attributes. In a fragment that imports nothing,
    `Column`, `Integer`, `mapped_column` and `Mapped` mean SQLAlchemy's.

    ## Why is this bad?
    Sequential integer ids leak how many rows exist and how fast they grow, invite
    enumeration (`/users/1`, `/users/2`, ...) when an authorization check is missing, and
    collide when data from two databases or shards is merged. A UUID can also be generated
    by the application before the insert.

    ## Example
    ```python
    from pydantic import BaseModel
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class User(Base):
        __tablename__ = "users"

        id: Mapped[int] = mapped_column(primary_key=True)


    class UserRead(BaseModel):
        id: int
    ```

    ## Use instead
    ```python
    import uuid
    from pydantic import BaseModel
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


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
        # An input model is not a read model, even when it reads ORM attributes.
        Valid("""
            from pydantic import BaseModel, ConfigDict

            class OrderCreate(BaseModel):
                model_config = ConfigDict(from_attributes=True)
                customer_id: int
            """),
        # A fragment whose `Column` and `Integer` are bound to something else.
        Valid("""
            from myorm import Column, Integer

            class UserDB(Base):
                __tablename__ = "users"
                id = Column(Integer, primary_key=True)
            """),
        # A Core table keyed by a UUID, and a non-key integer column.
        Valid("""
            from sqlalchemy import Column, Integer, MetaData, Table, Uuid

            metadata = MetaData()
            users = Table(
                "users", metadata, Column("id", Uuid, primary_key=True), Column("age", Integer)
            )
            """),
        Valid("""
            import uuid

            from sqlalchemy import ForeignKey
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


            class Base(DeclarativeBase):
                pass


            class User(Base):
                __tablename__ = 'users'
                id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
                org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey('orgs.id'), index=True)
                login_count: Mapped[int] = mapped_column(default=0)
            """),
        # Plain dataclasses and write models are not checked.
        Valid("""
            from dataclasses import dataclass


            @dataclass
            class UserRead:
                id: int
            """),
        Valid("""
            from pydantic import BaseModel


            class UserCreate(BaseModel):
                org_id: int
                age: int


            class UserRead(BaseModel):
                id: str
                age: int
            """),
        # Explicit UUID type with an imported base; a docstring mentioning the pattern.
        Valid('''
            import sqlalchemy as sa
            from sqlalchemy.dialects.postgresql import UUID
            from app.db import Base


            class User(Base):
                """id = Column(Integer, primary_key=True) is what we avoid."""

                __tablename__ = 'users'
                id = sa.Column(UUID(as_uuid=True), primary_key=True)
            '''),
        Valid("""
            import uuid

            from sqlmodel import Field, SQLModel


            class Hero(SQLModel, table=True):
                id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
                age: int | None = None
            """),
    )
    invalid = (
        # FastAPI's tutorial schema: read from ORM rows, whatever its name.
        Invalid(
            """
            from pydantic import BaseModel

            class Item(BaseModel):
                id: int
                title: str

                class Config:
                    orm_mode = True
            """,
            line=4,
        ),
        # A fragment: no import, the base defined elsewhere.
        Invalid(
            """
            class UserDB(Base):
                __tablename__ = "users"
                id = Column(Integer, primary_key=True)
            """,
            line=3,
        ),
        # Core tables.
        Invalid(
            """
            import sqlalchemy as sa

            metadata = sa.MetaData()
            users = sa.Table('users', metadata, sa.Column('id', sa.Integer, primary_key=True))
            """,
            line=4,
        ),
        Invalid(
            """
            from sqlalchemy import Column, Integer, MetaData, String, Table

            metadata = MetaData()
            users = Table(
                "users",
                metadata,
                Column("id", Integer, primary_key=True),
                Column("name", String(50)),
            )
            """,
            line=7,
        ),
        Invalid(
            """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            class User(db.Model):
                id = db.Column(db.Integer, primary_key=True)
            """,
            line=7,
        ),
        Invalid(
            """
            import uuid

            from sqlalchemy import ForeignKey
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


            class Base(DeclarativeBase):
                pass


            class User(Base):
                __tablename__ = 'users'
                id: Mapped[int] = mapped_column(primary_key=True)
            """,
            line=13,
        ),
        Invalid(
            """
            import sqlalchemy as sa
            from sqlalchemy.ext.declarative import declarative_base

            Base = declarative_base()


            class Post(Base):
                __tablename__ = 'posts'
                id = sa.Column(sa.Integer, primary_key=True)
                author_id = sa.Column(sa.BigInteger(), sa.ForeignKey('users.id'))
                views = sa.Column(sa.Integer, default=0)
            """,
            line=9,
            count=2,
        ),
        # An imported base and an `Annotated` alias.
        Invalid(
            """
            from typing import Annotated

            from sqlalchemy.orm import Mapped, mapped_column
            from app.db import Base

            intpk = Annotated[int, mapped_column(primary_key=True)]


            class Tag(Base):
                __tablename__ = 'tags'
                id: Mapped[intpk]
            """,
            line=11,
        ),
        Invalid(
            """
            from sqlmodel import Field, SQLModel


            class Hero(SQLModel, table=True):
                id: int | None = Field(default=None, primary_key=True)
            """,
            line=5,
        ),
        # A table built on a local SQLModel base.
        Invalid(
            """
            from sqlmodel import Field, SQLModel


            class TeamBase(SQLModel):
                name: str


            class Team(TeamBase, table=True):
                id: int = Field(primary_key=True)
            """,
            line=9,
        ),
        Invalid(
            """
            from typing import Optional

            from pydantic import BaseModel


            class UserRead(BaseModel):
                id: int
                org_id: Optional[int] = None
                name: str
                age: int
            """,
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
            if is_read_model(info, self.facts, self.settings) or (
                reads_orm_objects(info, self.facts) and not is_input_model(info, self.settings)
            ):
                self.site()
                for field in model_fields(node, self.facts):
                    if (field.name == "id" or field.name.endswith("_id")) and is_int_annotation(
                        field.annotation, self.facts
                    ):
                        self.report(field.node.target)
        elif info.kind is ClassKind.SQLMODEL_TABLE:
            self.site()
            self._check_sqlmodel(node)
        elif declarative_class(node, self.facts) is not None:
            self.site()
            self._check_declarative(node)

    def visit_Call(self, node: cst.Call) -> None:
        """A Core table: `Table("users", metadata, Column("id", Integer, primary_key=True))`."""
        if callee_tail(node) != "Table" or self.facts.resolve(node.func) not in TABLE_CALLS:
            return
        self.site()
        for arg in positional_args(node):
            column = column_call(arg, self.facts)
            if column is not None and self._is_int_key([column], None):
                self.report(column)

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
