from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassInfo
from harness.code.known import MAPPED_COLUMN_CALLS
from harness.code.matchers import class_attributes, mapped_inner
from harness.code.subjects import DeclarativeModelRule
from harness.registry import Invalid, Valid


class MappedColumnWithoutMappedAnnotation(DeclarativeModelRule):
    """
    ## What it does
    Flags an attribute of a declarative ORM class assigned `mapped_column(...)` without an
    annotation (`name = mapped_column(String)`) or with an annotation that is not
    `Mapped[...]` (`name: str = mapped_column(String)`). String annotations such as
    `"Mapped[int]"` are understood.

    Fragments: in code that imports nothing ("the rest is unchanged"), `mapped_column` and
    `Mapped` resolve to the library's names when neither the unit nor its project binds them; a
    name the code binds to something else never does. A class with an unknown base is an ORM
    class when its body has `__tablename__` or `Column(...)` / `mapped_column(...)` attributes.

    ## Why is this bad?
    Without `Mapped[...]` the attribute is typed as `MappedColumn[Any]` (or lies as `str`),
    so type checkers cannot check queries or assignments, and SQLAlchemy cannot derive the
    column's type and nullability from the annotation. A non-`Mapped` annotation on a
    declarative class also makes SQLAlchemy raise at import time unless
    `__allow_unmapped__` is set.

    ## Example
    ```python
    from sqlalchemy import String
    from sqlalchemy.orm import DeclarativeBase, mapped_column


    class Base(DeclarativeBase):
        pass


    class User(Base):
        __tablename__ = "users"

        name = mapped_column(String(100))
        email: str = mapped_column(String(320), unique=True)
    ```

    ## Use instead
    ```python
    from sqlalchemy import String
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class User(Base):
        __tablename__ = "users"

        name: Mapped[str] = mapped_column(String(100))
        email: Mapped[str] = mapped_column(String(320), unique=True)
    ```
    """

    code = "SQA002"
    name = "mapped-column-without-mapped-annotation"
    message = "`mapped_column()` attribute lacks a `Mapped[...]` annotation"
    valid = (
        Valid("""
            from sqlalchemy import String
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


            class Base(DeclarativeBase):
                pass


            class User(Base):
                __tablename__ = 'users'
                id: Mapped[int] = mapped_column(primary_key=True)
                name: Mapped[str | None] = mapped_column(String(100))
            """),
        # A string annotation, and the `sqlalchemy.orm` module alias.
        Valid("""
            import sqlalchemy.orm as so
            from app.db import Base


            class Tag(Base):
                __tablename__ = 'tags'
                id: so.Mapped[int] = so.mapped_column(primary_key=True)
                label: 'so.Mapped[str]' = so.mapped_column()
            """),
        # `mapped_column` from another library, and outside any ORM class.
        Valid("""
            from mylib import mapped_column
            from app.db import Base


            class Tag(Base):
                __tablename__ = 'tags'
                label = mapped_column()
            """),
        Valid("""
            from sqlalchemy.orm import mapped_column


            class Plain:
                x = mapped_column()
            """),
        # A docstring mentioning the pattern.
        Valid('''
            from sqlalchemy import String
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


            class Base(DeclarativeBase):
                pass


            class User(Base):
                """name = mapped_column(String)"""

                __tablename__ = 'users'
                id: Mapped[int] = mapped_column(primary_key=True)
            '''),
    )
    invalid = (
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            class User(Base):
                __tablename__ = "users"
                name = mapped_column(String(50))
            """,
            line=3,
        ),
        Invalid(
            """
            from sqlalchemy import String
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


            class Base(DeclarativeBase):
                pass


            class User(Base):
                __tablename__ = 'users'
                id: Mapped[int] = mapped_column(primary_key=True)
                name = mapped_column(String(100))
            """,
            line=12,
        ),
        Invalid(
            """
            from sqlalchemy import String
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


            class Base(DeclarativeBase):
                pass


            class User(Base):
                __tablename__ = 'users'
                id: Mapped[int] = mapped_column(primary_key=True)
                email: str = mapped_column(String(320))
            """,
            line=12,
        ),
        Invalid(
            """
            import sqlalchemy as sa
            import sqlalchemy.orm as so
            from app.db import Base


            class Post(Base):
                __tablename__ = 'posts'
                id: so.Mapped[int] = so.mapped_column(primary_key=True)
                title: 'str' = so.mapped_column(sa.String(200))
            """,
            line=9,
        ),
        # A mixin with `Mapped` attributes is an ORM class too.
        Invalid(
            """
            from datetime import datetime
            from sqlalchemy.orm import Mapped, mapped_column


            class TimestampMixin:
                created_at: Mapped[datetime] = mapped_column()
                updated_at: datetime = mapped_column()
            """,
            line=7,
        ),
    )

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        for attr in class_attributes(node):
            value = attr.value
            if not (
                isinstance(value, cst.Call)
                and self.facts.resolve(value.func) in MAPPED_COLUMN_CALLS
            ):
                continue
            if attr.annotation is None or mapped_inner(attr.annotation, self.facts) is None:
                self.report(attr.target)
