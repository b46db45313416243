from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassInfo
from harness.code.matchers import COLUMN_CALLS, class_attributes
from harness.code.subjects import DeclarativeModelRule
from harness.registry import Example

_IMPORTS = "from sqlalchemy import Column, ForeignKey, Integer, String\n"
_IMPORTS_2 = (
    "from sqlalchemy import ForeignKey, String\n"
    "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n"
)


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

    ## Why is this bad?
    `Column` attributes are the SQLAlchemy 1.x declarative style. Type checkers see them
    as `Column[Any]`, so `user.email` is untyped, and nullability has to be kept in sync by
    hand. SQLAlchemy 2.0's `Mapped[...]` annotation drives both the Python type and the
    column's nullability.

    ## Example
    ```python
    class User(Base):
        __tablename__ = "users"

        id = Column(Integer, primary_key=True)
        email = Column(String(320), nullable=False)
    ```

    ## Use instead
    ```python
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
        # Flask-SQLAlchemy 3.1 with typed columns.
        _IMPORTS_2 + "from flask_sqlalchemy import SQLAlchemy\n\n\n"
        "class Base(DeclarativeBase):\n    pass\n\n\ndb = SQLAlchemy(model_class=Base)\n\n\n"
        "class User(db.Model):\n    id: Mapped[int] = db.mapped_column(primary_key=True)\n",
        _IMPORTS_2 + "\n\nclass Base(DeclarativeBase):\n    pass\n\n\n"
        "class User(Base):\n    __tablename__ = 'users'\n"
        "    id: Mapped[int] = mapped_column(primary_key=True)\n"
        "    email: Mapped[str] = mapped_column(String(320))\n",
        # Core table columns are not ORM attributes.
        "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n"
        "users = sa.Table('users', metadata, sa.Column('id', sa.Integer, primary_key=True))\n",
        # `__table__ = Table(...)` on a model: the columns belong to the Core table.
        _IMPORTS + "from sqlalchemy import Table\nfrom app.db import Base\n\n\n"
        "class User(Base):\n"
        "    __table__ = Table('users', Base.metadata, Column('id', Integer, primary_key=True))\n",
        # `Column` from another library.
        "from mylib import Column\nfrom app.db import Base\n\n\n"
        "class Report(Base):\n    __tablename__ = 'reports'\n    title = Column(str)\n",
        # A local class named Column.
        "class Column:\n    pass\n\n\nclass Grid:\n    first = Column()\n",
        # Not an ORM class, and a docstring mentioning the pattern.
        _IMPORTS + '\n\nclass Spec:\n    """id = Column(Integer, primary_key=True)"""\n\n'
        "    kind = 'column'\n",
    )
    invalid = (
        # Flask-SQLAlchemy: `db.Column` on `db.Model`, with `db` made here or imported.
        Example(
            "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n\n\n"
            "class User(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n",
            line=7,
        ),
        Example(
            "from app.extensions import db\n\n\nclass Post(db.Model):\n"
            "    title = db.Column(db.String(200))\n",
            line=5,
        ),
        Example(
            _IMPORTS + "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n"
            "\n\nclass User(Base):\n    __tablename__ = 'users'\n"
            "    id = Column(Integer, primary_key=True)\n    name = Column(String)\n",
            line=9,
            count=2,
        ),
        Example(
            "import sqlalchemy as sa\nfrom app.db import Base\n\n\n"
            "class Post(Base):\n    __tablename__ = 'posts'\n"
            "    author_id = sa.Column(sa.ForeignKey('users.id'), index=True)\n",
            line=7,
        ),
        Example(
            _IMPORTS_2 + "from sqlalchemy.schema import Column as Col\n\n\n"
            "class Base(DeclarativeBase):\n    pass\n\n\n"
            "class Tag(Base):\n    __tablename__ = 'tags'\n"
            "    id: Mapped[int] = mapped_column(primary_key=True)\n"
            "    label: Mapped[str] = Col(String(50))\n",
            line=13,
        ),
        # A mixin of a mapped class.
        Example(
            _IMPORTS + "from sqlalchemy import DateTime\nfrom app.db import Base\n\n\n"
            "class TimestampMixin:\n    created_at = Column(DateTime)\n\n\n"
            "class User(TimestampMixin, Base):\n    __tablename__ = 'users'\n",
            line=7,
        ),
        # An abstract base.
        Example(
            _IMPORTS + "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n"
            "\n\nclass Model(Base):\n    __abstract__ = True\n"
            "    id = Column(Integer, primary_key=True)\n",
            line=9,
        ),
    )

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        for attr in class_attributes(node):
            value = attr.value
            if isinstance(value, cst.Call) and self.facts.resolve(value.func) in COLUMN_CALLS:
                self.report(value)
