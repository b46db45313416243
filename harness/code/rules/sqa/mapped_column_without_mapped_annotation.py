from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassInfo
from harness.code.matchers import (
    MAPPED_COLUMN_CALLS,
    class_attributes,
    mapped_inner,
)
from harness.code.subjects import DeclarativeModelRule
from harness.registry import Example

_IMPORTS = (
    "from sqlalchemy import String\n"
    "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n\n\n"
    "class Base(DeclarativeBase):\n    pass\n\n\n"
)


class MappedColumnWithoutMappedAnnotation(DeclarativeModelRule):
    """
    ## What it does
    Flags an attribute of a declarative ORM class assigned `mapped_column(...)` without an
    annotation (`name = mapped_column(String)`) or with an annotation that is not
    `Mapped[...]` (`name: str = mapped_column(String)`). String annotations such as
    `"Mapped[int]"` are understood.

    ## Why is this bad?
    Without `Mapped[...]` the attribute is typed as `MappedColumn[Any]` (or lies as `str`),
    so type checkers cannot check queries or assignments, and SQLAlchemy cannot derive the
    column's type and nullability from the annotation. A non-`Mapped` annotation on a
    declarative class also makes SQLAlchemy raise at import time unless
    `__allow_unmapped__` is set.

    ## Example
    ```python
    class User(Base):
        __tablename__ = "users"

        name = mapped_column(String(100))
        email: str = mapped_column(String(320), unique=True)
    ```

    ## Use instead
    ```python
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
        _IMPORTS + "class User(Base):\n    __tablename__ = 'users'\n"
        "    id: Mapped[int] = mapped_column(primary_key=True)\n"
        "    name: Mapped[str | None] = mapped_column(String(100))\n",
        # A string annotation, and the `sqlalchemy.orm` module alias.
        "import sqlalchemy.orm as so\nfrom app.db import Base\n\n\n"
        "class Tag(Base):\n    __tablename__ = 'tags'\n"
        "    id: so.Mapped[int] = so.mapped_column(primary_key=True)\n"
        "    label: 'so.Mapped[str]' = so.mapped_column()\n",
        # `mapped_column` from another library, and outside any ORM class.
        "from mylib import mapped_column\nfrom app.db import Base\n\n\n"
        "class Tag(Base):\n    __tablename__ = 'tags'\n    label = mapped_column()\n",
        "from sqlalchemy.orm import mapped_column\n\n\nclass Plain:\n    x = mapped_column()\n",
        # A docstring mentioning the pattern.
        _IMPORTS + 'class User(Base):\n    """name = mapped_column(String)"""\n\n'
        "    __tablename__ = 'users'\n    id: Mapped[int] = mapped_column(primary_key=True)\n",
    )
    invalid = (
        Example(
            _IMPORTS + "class User(Base):\n    __tablename__ = 'users'\n"
            "    id: Mapped[int] = mapped_column(primary_key=True)\n"
            "    name = mapped_column(String(100))\n",
            line=12,
        ),
        Example(
            _IMPORTS + "class User(Base):\n    __tablename__ = 'users'\n"
            "    id: Mapped[int] = mapped_column(primary_key=True)\n"
            "    email: str = mapped_column(String(320))\n",
            line=12,
        ),
        Example(
            "import sqlalchemy as sa\nimport sqlalchemy.orm as so\nfrom app.db import Base\n\n\n"
            "class Post(Base):\n    __tablename__ = 'posts'\n"
            "    id: so.Mapped[int] = so.mapped_column(primary_key=True)\n"
            "    title: 'str' = so.mapped_column(sa.String(200))\n",
            line=9,
        ),
        # A mixin with `Mapped` attributes is an ORM class too.
        Example(
            "from datetime import datetime\n"
            "from sqlalchemy.orm import Mapped, mapped_column\n\n\n"
            "class TimestampMixin:\n"
            "    created_at: Mapped[datetime] = mapped_column()\n"
            "    updated_at: datetime = mapped_column()\n",
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
