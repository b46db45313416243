from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassKind
from harness.code.matchers import (
    SQLMODEL_FIELD_CALLS,
    class_attributes,
    column_call,
    declarative_class,
    foreign_key_of,
    keyword_arg,
    keyword_is_true,
    positional_args,
)
from harness.code.rule import CodeRule
from harness.registry import Invalid, Valid

INDEX_CALLS = frozenset({"sqlalchemy.Index", "sqlalchemy.schema.Index"})
#: Constraints backed by an index on their leading column in PostgreSQL, MySQL and SQLite.
CONSTRAINT_CALLS = frozenset(
    {
        "sqlalchemy.UniqueConstraint",
        "sqlalchemy.schema.UniqueConstraint",
        "sqlalchemy.PrimaryKeyConstraint",
        "sqlalchemy.schema.PrimaryKeyConstraint",
    }
)
#: Keywords on the column itself that give it an index.
_INDEXING_KEYWORDS = ("index", "primary_key", "unique")


class UnindexedForeignKey(CodeRule):
    """
    ## What it does
    Flags a column of an ORM class with a `ForeignKey(...)` (in `mapped_column` or
    `Column`), or a SQLModel `Field(foreign_key=...)`, that has no index.

    A column counts as indexed with `index=True`, `primary_key=True` or `unique=True`
    (unique and primary-key constraints are backed by an index), or when it is the
    leading column of an `Index(...)`, `UniqueConstraint(...)` or `PrimaryKeyConstraint(...)`
    in a literal `__table_args__` tuple (`Index("ix_posts_author", "author_id")` or
    `Index("ix", author_id)`). A column that only appears second in a composite index is
    not covered. Indexes created elsewhere (migrations, `@declared_attr` table args) are
    not seen, so suppress the finding there with `# harness: ignore[SQA005]`.

    Fragments: in code that imports nothing ("the rest is unchanged"), `Column`, `mapped_column`
    and `ForeignKey` resolve to the library's names when neither the unit nor its project binds
    them; a name the code binds to something else never does. A class with an unknown base is an
    ORM class when its body has `__tablename__` or `Column(...)` / `mapped_column(...)`
    attributes.

    ## Why is this bad?
    PostgreSQL does not index foreign keys by itself. Every join and every
    `WHERE author_id = ...` scans the child table, and deleting a parent row scans it too to
    check the constraint, which gets slow and takes locks as the table grows.

    ## Example
    ```python
    import uuid
    from sqlalchemy import ForeignKey
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Post(Base):
        __tablename__ = "posts"

        author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    ```

    ## Use instead
    ```python
    import uuid
    from sqlalchemy import ForeignKey
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Post(Base):
        __tablename__ = "posts"

        author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    ```
    """

    code = "SQA005"
    name = "unindexed-foreign-key"
    message = "Foreign key column has no index; add `index=True`"
    valid = (
        Valid("""
            import uuid

            from sqlalchemy import ForeignKey, Index
            from sqlalchemy.orm import Mapped, mapped_column
            from app.db import Base


            class Post(Base):
                __tablename__ = 'posts'
                author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey('users.id'), index=True)
                owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey('users.id'), unique=True)
            """),
        # Covered by `__table_args__`, by name or by attribute.
        Valid("""
            import uuid

            from sqlalchemy import ForeignKey, Index
            from sqlalchemy.orm import Mapped, mapped_column
            from app.db import Base


            class Post(Base):
                __tablename__ = 'posts'
                author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey('users.id'))
                editor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey('users.id'))
                __table_args__ = (
                    Index('ix_posts_author', 'author_id'),
                    Index('ix_posts_editor', editor_id, 'author_id'),
                )
            """),
        # Association table rows keyed by their foreign keys.
        Valid("""
            import sqlalchemy as sa
            from app.db import Base


            class Membership(Base):
                __tablename__ = 'memberships'
                user_id = sa.Column(sa.ForeignKey('users.id'), primary_key=True)
            """),
        # Core tables are not ORM classes; `ForeignKey` from another library.
        Valid("""
            from sqlalchemy import Column, ForeignKey, MetaData, Table

            metadata = MetaData()
            posts = Table('posts', metadata, Column('author_id', ForeignKey('users.id')))
            """),
        Valid("""
            from mylib import ForeignKey
            from sqlalchemy.orm import Mapped, mapped_column
            from app.db import Base


            class Post(Base):
                __tablename__ = 'posts'
                author_id: Mapped[int] = mapped_column(ForeignKey('users.id'))
            """),
        Valid("""
            from sqlmodel import Field, SQLModel


            class Hero(SQLModel, table=True):
                team_id: int | None = Field(default=None, foreign_key='team.id', index=True)
            """),
    )
    invalid = (
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            class Post(Base):
                __tablename__ = "posts"
                author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
            """,
            line=3,
        ),
        Invalid(
            """
            import uuid

            from sqlalchemy import ForeignKey, Index
            from sqlalchemy.orm import Mapped, mapped_column
            from app.db import Base


            class Post(Base):
                __tablename__ = 'posts'
                author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey('users.id'))
            """,
            line=10,
        ),
        Invalid(
            """
            from sqlalchemy import Column, ForeignKey, Integer
            from sqlalchemy.ext.declarative import declarative_base

            Base = declarative_base()


            class Post(Base):
                __tablename__ = 'posts'
                id = Column(Integer, primary_key=True)
                author_id = Column(Integer, ForeignKey('users.id'), index=False)
            """,
            line=10,
        ),
        # Second column of a composite index only.
        Invalid(
            """
            import uuid

            from sqlalchemy import ForeignKey, Index
            from sqlalchemy.orm import Mapped, mapped_column
            from app.db import Base


            class Post(Base):
                __tablename__ = 'posts'
                author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey('users.id'))
                __table_args__ = (Index('ix_posts_created_author', 'created_at', 'author_id'),)
            """,
            line=10,
        ),
        Invalid(
            """
            import sqlalchemy as sa
            import sqlalchemy.orm as so
            from app.db import Base


            class Comment(Base):
                __tablename__ = 'comments'
                post_id: so.Mapped[int] = so.mapped_column(
                    sa.ForeignKey('posts.id', ondelete='CASCADE')
                )
            """,
            line=8,
        ),
        Invalid(
            """
            from sqlmodel import Field, SQLModel


            class Hero(SQLModel, table=True):
                id: int | None = Field(default=None, primary_key=True)
                team_id: int | None = Field(default=None, foreign_key='team.id')
            """,
            line=6,
        ),
    )

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        info = self.facts.class_info(node)
        if info is None:
            return
        sqlmodel = info.kind is ClassKind.SQLMODEL_TABLE
        if not sqlmodel and declarative_class(node, self.facts) is None:
            return
        self.site()
        covered: frozenset[str] | None = None
        for attr in class_attributes(node):
            call = self._unindexed_fk_column(attr.value, sqlmodel)
            if call is None:
                continue
            if covered is None:
                covered = self._table_args_leading_columns(node)
            names = {attr.target.value}
            first = next(positional_args(call), None)
            if isinstance(first, cst.SimpleString):
                names.add(str(first.evaluated_value))
            if not names & covered:
                self.report(attr.target)

    def _unindexed_fk_column(
        self, value: cst.BaseExpression | None, sqlmodel: bool
    ) -> cst.Call | None:
        """The column (or SQLModel field) call when it has a foreign key and no index."""
        if not isinstance(value, cst.Call):
            return None
        if sqlmodel and self.facts.resolve(value.func) in SQLMODEL_FIELD_CALLS:
            sa_column = keyword_arg(value, "sa_column")
            if sa_column is not None:
                return self._unindexed_fk_column(sa_column.value, sqlmodel=False)
            if keyword_arg(value, "foreign_key") is None:
                return None
            call = value
        else:
            call = column_call(value, self.facts)
            if call is None or foreign_key_of(call, self.facts) is None:
                return None
        if any(keyword_is_true(call, kw) for kw in _INDEXING_KEYWORDS):
            return None
        return call

    def _table_args_leading_columns(self, node: cst.ClassDef) -> frozenset[str]:
        """Leading column names of the indexes and constraints in `__table_args__`."""
        names: set[str] = set()
        for attr in class_attributes(node):
            if attr.target.value != "__table_args__" or not isinstance(
                attr.value, cst.Tuple | cst.List
            ):
                continue
            for element in attr.value.elements:
                item = element.value
                if not isinstance(item, cst.Call):
                    continue
                callee = self.facts.resolve(item.func)
                args = list(positional_args(item))
                if callee in INDEX_CALLS:
                    args = args[1:]  # the index name
                elif callee not in CONSTRAINT_CALLS:
                    continue
                if args:
                    name = _column_name(args[0])
                    if name is not None:
                        names.add(name)
        return frozenset(names)


def _column_name(node: cst.BaseExpression) -> str | None:
    """`"author_id"`, `author_id` or `cls.author_id` -> `author_id`."""
    if isinstance(node, cst.SimpleString):
        return str(node.evaluated_value)
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None
