from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassKind
from harness.code.known import ORM_COLUMN_CALLS
from harness.code.matchers import SQLMODEL_FIELD_CALLS, declarative_class
from harness.code.rule import CodeRule
from harness.registry import Invalid, Valid

#: Calls whose default keywords are evaluated per row / per instance.
DEFAULT_TAKING_CALLS = (
    ORM_COLUMN_CALLS
    | SQLMODEL_FIELD_CALLS
    | frozenset({"pydantic.Field", "pydantic.fields.Field", "dataclasses.field"})
)
#: `@dataclass` / `@dataclass(...)`, whose annotated attributes are fields with defaults.
DATACLASS_DECORATORS = frozenset({"dataclasses.dataclass", "pydantic.dataclasses.dataclass"})
#: Keywords holding a Python-side default (`server_default` cannot hold a callable).
DEFAULT_KEYWORDS = frozenset({"default", "onupdate", "insert_default", "default_factory"})
#: Nodes between `datetime.utcnow` and the keyword argument: `utcnow()`, `lambda: ...`,
#: `utcnow().replace(...)`.
_PASS_THROUGH = (cst.Call, cst.Attribute, cst.Lambda)
_MAX_DEPTH = 6


class NaiveUtcnowDefault(CodeRule):
    """
    ## What it does
    Flags `datetime.utcnow` (resolved through imports: `datetime.datetime.utcnow`,
    `dt.utcnow` after `from datetime import datetime as dt`) used as a column or field
    default: the `default=`, `onupdate=` or `insert_default=` of SQLAlchemy `Column` /
    `mapped_column`, or the `default=` / `default_factory=` of a Pydantic or SQLModel
    `Field` (and `dataclasses.field`), or the plain default of a Pydantic, SQLModel or
    dataclass field (`created_at: datetime = datetime.utcnow()`). Passing it directly,
    calling it, or calling it inside a lambda are all flagged. `server_default=` is not
    checked: it takes SQL, not a Python callable.

    Fragments: in code that imports nothing ("the rest is unchanged"), `Column` and
    `mapped_column` resolve to the library's names when neither the unit nor its project binds
    them; a name the code binds to something else never does. A class with an unknown base is an
    ORM class when its body has `__tablename__` or `Column(...)` / `mapped_column(...)`
    attributes.

    ## Why is this bad?
    `datetime.utcnow()` returns a naive datetime with no time zone, deprecated since
    Python 3.12. Naive and aware datetimes cannot be compared, a naive value stored in a
    `timestamptz` column is read as the server's local time, and `datetime.utcnow()`
    (called, not passed) is evaluated once at import, so every row gets the same time.

    ## Example
    ```python
    from datetime import datetime
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class User(Base):
        __tablename__ = "users"

        created_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)
    ```

    ## Use instead
    ```python
    from datetime import datetime
    from sqlalchemy import DateTime, func
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class User(Base):
        __tablename__ = "users"

        created_at: Mapped[datetime] = mapped_column(
            DateTime(timezone=True), server_default=func.now()
        )
    ```
    or `Field(default_factory=lambda: datetime.now(UTC))` in a Pydantic model.
    """

    code = "SQA008"
    name = "naive-utcnow-default"
    message = "Naive `datetime.utcnow` default; use `func.now()` or `datetime.now(UTC)`"
    valid = (
        Valid("""
            from datetime import UTC, datetime

            from sqlalchemy import DateTime, func
            from sqlalchemy.orm import Mapped, mapped_column


            class User(Base):
                created_at: Mapped[datetime] = mapped_column(
                    DateTime(timezone=True), server_default=func.now()
                )
                seen_at: Mapped[datetime] = mapped_column(default=lambda: datetime.now(UTC))
            """),
        Valid("""
            from datetime import datetime

            from pydantic import BaseModel, Field


            class Event(BaseModel):
                at: datetime = Field(default_factory=lambda: datetime.now())
            """),
        # A plain class's attribute is not a field default.
        Valid("""
            from datetime import datetime


            class Clock:
                started: datetime = datetime.utcnow()
            """),
        # utcnow outside defaults, and another library's `utcnow`.
        Valid("""
            from datetime import datetime


            def stamp():
                return datetime.utcnow()
            """),
        Valid("""
            import arrow
            from sqlalchemy import Column, DateTime

            col = Column(DateTime, default=arrow.utcnow)
            """),
        # A docstring and a string mentioning the pattern.
        Valid('''
            """Never write Column(default=datetime.utcnow)."""
            HINT = 'mapped_column(default=datetime.utcnow)'
            '''),
    )
    invalid = (
        # Evaluated once, at import: every event gets the same naive time.
        Invalid(
            """
            from datetime import datetime

            from pydantic import BaseModel


            class Event(BaseModel):
                name: str
                created_at: datetime = datetime.utcnow()
            """,
            line=8,
        ),
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            class Post(Base):
                __tablename__ = "posts"
                created_at = Column(DateTime, default=datetime.utcnow)
            """,
            line=3,
        ),
        Invalid(
            """
            from datetime import datetime

            from sqlalchemy.orm import Mapped, mapped_column


            class User(Base):
                created_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)
            """,
            line=7,
            count=1,
        ),
        Invalid(
            """
            import datetime

            import sqlalchemy as sa

            updated = sa.Column(
                sa.DateTime,
                default=datetime.datetime.utcnow,
                onupdate=datetime.datetime.utcnow,
            )
            """,
            line=8,
            count=2,
        ),
        Invalid(
            """
            from datetime import datetime as dt

            from pydantic import BaseModel, Field


            class Event(BaseModel):
                at: dt = Field(default_factory=lambda: dt.utcnow())
            """,
            line=7,
        ),
        Invalid(
            """
            from datetime import datetime

            from sqlmodel import Field, SQLModel


            class Hero(SQLModel, table=True):
                created_at: datetime = Field(default_factory=datetime.utcnow)
            """,
            line=7,
        ),
        # Called at import time: even worse, still naive.
        Invalid(
            """
            from datetime import datetime

            from sqlalchemy import Column, DateTime

            created = Column(DateTime, default=datetime.utcnow())
            """,
            line=5,
        ),
    )

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        info = self.facts.class_info(node)
        if info is not None and (
            info.kind is ClassKind.SQLMODEL_TABLE or declarative_class(node, self.facts) is not None
        ):
            self.site()  # the column defaults of an ORM class

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value != "utcnow":
            return
        name = self.facts.resolve(node)
        if name != "datetime.datetime.utcnow" and not (
            name == "datetime.utcnow" and "datetime" not in self.facts.imports
        ):
            return
        stack = self.ancestors
        for depth in range(2, min(len(stack), _MAX_DEPTH + 2)):
            parent = stack[-depth]
            if isinstance(parent, cst.Arg):
                if (
                    parent.keyword is not None
                    and parent.keyword.value in DEFAULT_KEYWORDS
                    and self.facts.resolve_call(stack[-depth - 1]) in DEFAULT_TAKING_CALLS
                ):
                    self.report(node)
                return
            if isinstance(parent, cst.AnnAssign) and self._model_field(stack[-depth - 3 :]):
                # `created_at: datetime = datetime.utcnow()` in a model: one time for all.
                self.report(node)
                return
            if not isinstance(parent, _PASS_THROUGH):
                return

    def _model_field(self, path: list[cst.CSTNode]) -> bool:
        """`path` is [ClassDef, IndentedBlock, SimpleStatementLine, AnnAssign, ...]: a field
        of a Pydantic or SQLModel model, or of a dataclass."""
        if len(path) < 4 or not isinstance(path[0], cst.ClassDef):
            return False
        info = self.facts.class_info(path[0])
        if info is not None and info.is_pydantic:
            return True
        return any(
            self.facts.resolve(
                d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator
            )
            in DATACLASS_DECORATORS
            for d in path[0].decorators
        )
