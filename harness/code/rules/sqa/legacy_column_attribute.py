from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassInfo
from harness.code.known import COLUMN_CALLS
from harness.code.matchers import class_attributes
from harness.code.subjects import DeclarativeModelRule
from harness.registry import Invalid, Valid


class LegacyColumnAttribute(DeclarativeModelRule):
    """
    ## What it does
    Flags an attribute of a declarative ORM class (a model, an abstract base or a mixin
    used by one) declared with `Column(...)` instead of `Mapped[...] = mapped_column(...)`.

    Only `Column` imported from SQLAlchemy counts (`Column`, `sa.Column`,
    `sqlalchemy.schema.Column`, and Flask-SQLAlchemy's `db.Column` on a `db.Model` class, where
    `db` is made by `SQLAlchemy()` in the file or imported under the name `db`), and only as
    a class attribute of an ORM class: the columns
    of a Core `Table("t", metadata, Column(...))` are fine, and so is a `Column` class from
    another library. A class with `Column` attributes that is neither mapped nor used as a
    base of a mapped class in the same file is not checked.

    Fragments: in code that imports nothing ("the rest is unchanged"), `Column` and the `sa.`
    alias (`sa.Column`) resolve to the library's names when neither the unit nor its project
    binds them, and `db.Model` as a base with `db` bound nowhere is Flask-SQLAlchemy's; a
    name the code binds to something else never does. A class with an unknown base is an ORM
    class when its body has `__tablename__` or `Column(...)` / `mapped_column(...)`
    attributes.

    ## Why is this bad?
    `Column` attributes are the SQLAlchemy 1.x declarative style. Type checkers see them
    as `Column[Any]`, so `user.email` is untyped, and nullability has to be kept in sync by
    hand. SQLAlchemy 2.0's `Mapped[...]` annotation drives both the Python type and the
    column's nullability.

    ## Example
    ```python
    from sqlalchemy import Column, Integer, String
    from sqlalchemy.orm import DeclarativeBase


    class Base(DeclarativeBase):
        pass


    class User(Base):
        __tablename__ = "users"

        id = Column(Integer, primary_key=True)
        email = Column(String(320), nullable=False)
    ```

    ## Use instead
    ```python
    import uuid
    from sqlalchemy import String
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class User(Base):
        __tablename__ = "users"

        id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
        email: Mapped[str] = mapped_column(String(320))
    ```
    """

    code = "SQA001"
    name = "legacy-column-attribute"
    message = "ORM attribute declared with `Column(...)`; use `Mapped[...] = mapped_column(...)`"
    valid = (
        # `sa` and `db` bound to something else are never the libraries'.
        Valid("""
            from adapters import Database, sa

            db = Database()

            class User(Base):
                __tablename__ = "users"
                name = sa.Column(sa.String(50))

            class Item(db.Model):
                title = db.Column(db.String(80))
            """),
        # A name bound to something else is never read as the library's.
        Valid(
            """
            from mongoengine import Document, StringField as Column

            class UserDB(Document):
                name = Column(max_length=50)
            """
        ),
        # Flask-SQLAlchemy 3.1 with typed columns.
        Valid("""
            from sqlalchemy import ForeignKey, String
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
            from flask_sqlalchemy import SQLAlchemy


            class Base(DeclarativeBase):
                pass


            db = SQLAlchemy(model_class=Base)


            class User(db.Model):
                id: Mapped[int] = db.mapped_column(primary_key=True)
            """),
        Valid("""
            from sqlalchemy import ForeignKey, String
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


            class Base(DeclarativeBase):
                pass


            class User(Base):
                __tablename__ = 'users'
                id: Mapped[int] = mapped_column(primary_key=True)
                email: Mapped[str] = mapped_column(String(320))
            """),
        # Core table columns are not ORM attributes.
        Valid("""
            import sqlalchemy as sa

            metadata = sa.MetaData()
            users = sa.Table('users', metadata, sa.Column('id', sa.Integer, primary_key=True))
            """),
        # `__table__ = Table(...)` on a model: the columns belong to the Core table.
        Valid("""
            from sqlalchemy import Column, ForeignKey, Integer, String
            from sqlalchemy import Table
            from app.db import Base


            class User(Base):
                __table__ = Table('users', Base.metadata, Column('id', Integer, primary_key=True))
            """),
        # `Column` from another library.
        Valid("""
            from mylib import Column
            from app.db import Base


            class Report(Base):
                __tablename__ = 'reports'
                title = Column(str)
            """),
        # A local class named Column.
        Valid("""
            class Column:
                pass


            class Grid:
                first = Column()
            """),
        # Not an ORM class, and a docstring mentioning the pattern.
        Valid('''
            from sqlalchemy import Column, ForeignKey, Integer, String


            class Spec:
                """id = Column(Integer, primary_key=True)"""

                kind = 'column'
            '''),
    )
    invalid = (
        # A fragment through the `sa.` alias and Flask-SQLAlchemy's `db`, neither imported.
        Invalid(
            """
            class User(Base):
                __tablename__ = "users"
                name = sa.Column(sa.String(50))

            class Item(db.Model):
                title = db.Column(db.String(80))
            """,
            count=2,
        ),
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            class UserDB(Base):
                __tablename__ = "users"
                name = Column(String(50))
            """,
            line=3,
        ),
        # Flask-SQLAlchemy: `db.Column` on `db.Model`, with `db` made here or imported.
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
            from app.extensions import db


            class Post(db.Model):
                title = db.Column(db.String(200))
            """,
            line=5,
        ),
        Invalid(
            """
            from sqlalchemy import Column, ForeignKey, Integer, String
            from sqlalchemy.orm import declarative_base

            Base = declarative_base()


            class User(Base):
                __tablename__ = 'users'
                id = Column(Integer, primary_key=True)
                name = Column(String)
            """,
            line=9,
            count=2,
        ),
        Invalid(
            """
            import sqlalchemy as sa
            from app.db import Base


            class Post(Base):
                __tablename__ = 'posts'
                author_id = sa.Column(sa.ForeignKey('users.id'), index=True)
            """,
            line=7,
        ),
        Invalid(
            """
            from sqlalchemy import ForeignKey, String
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
            from sqlalchemy.schema import Column as Col


            class Base(DeclarativeBase):
                pass


            class Tag(Base):
                __tablename__ = 'tags'
                id: Mapped[int] = mapped_column(primary_key=True)
                label: Mapped[str] = Col(String(50))
            """,
            line=13,
        ),
        # A mixin of a mapped class.
        Invalid(
            """
            from sqlalchemy import Column, ForeignKey, Integer, String
            from sqlalchemy import DateTime
            from app.db import Base


            class TimestampMixin:
                created_at = Column(DateTime)


            class User(TimestampMixin, Base):
                __tablename__ = 'users'
            """,
            line=7,
        ),
        # An abstract base.
        Invalid(
            """
            from sqlalchemy import Column, ForeignKey, Integer, String
            from sqlalchemy.orm import declarative_base

            Base = declarative_base()


            class Model(Base):
                __abstract__ = True
                id = Column(Integer, primary_key=True)
            """,
            line=9,
        ),
    )

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        for attr in class_attributes(node):
            value = attr.value
            if isinstance(value, cst.Call) and self.facts.resolve(value.func) in COLUMN_CALLS:
                self.report(value)
