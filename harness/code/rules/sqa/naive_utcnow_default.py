from __future__ import annotations

import libcst as cst

from harness.code.matchers import ORM_COLUMN_CALLS, SQLMODEL_FIELD_CALLS
from harness.code.rule import CodeRule
from harness.registry import Example

#: Calls whose default keywords are evaluated per row / per instance.
DEFAULT_TAKING_CALLS = (
    ORM_COLUMN_CALLS
    | SQLMODEL_FIELD_CALLS
    | frozenset({"pydantic.Field", "pydantic.fields.Field", "dataclasses.field"})
)
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
    `Field` (and `dataclasses.field`). Passing it directly, calling it, or calling it
    inside a lambda are all flagged. `server_default=` is not checked: it takes SQL, not a
    Python callable.

    ## Why is this bad?
    `datetime.utcnow()` returns a naive datetime with no time zone, deprecated since
    Python 3.12. Naive and aware datetimes cannot be compared, a naive value stored in a
    `timestamptz` column is read as the server's local time, and `datetime.utcnow()`
    (called, not passed) is evaluated once at import, so every row gets the same time.

    ## Example
    ```python
    class User(Base):
        __tablename__ = "users"

        created_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)
    ```

    ## Use instead
    ```python
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
        "from datetime import UTC, datetime\n\nfrom sqlalchemy import DateTime, func\n"
        "from sqlalchemy.orm import Mapped, mapped_column\n\n\nclass User(Base):\n"
        "    created_at: Mapped[datetime] = mapped_column(\n"
        "        DateTime(timezone=True), server_default=func.now()\n    )\n"
        "    seen_at: Mapped[datetime] = mapped_column(default=lambda: datetime.now(UTC))\n",
        "from datetime import datetime\n\nfrom pydantic import BaseModel, Field\n\n\n"
        "class Event(BaseModel):\n"
        "    at: datetime = Field(default_factory=lambda: datetime.now())\n",
        # utcnow outside defaults, and another library's `utcnow`.
        "from datetime import datetime\n\n\ndef stamp():\n    return datetime.utcnow()\n",
        "import arrow\nfrom sqlalchemy import Column, DateTime\n\n"
        "col = Column(DateTime, default=arrow.utcnow)\n",
        # A docstring and a string mentioning the pattern.
        '"""Never write Column(default=datetime.utcnow)."""\n'
        "HINT = 'mapped_column(default=datetime.utcnow)'\n",
    )
    invalid = (
        Example(
            "from datetime import datetime\n\nfrom sqlalchemy.orm import Mapped, mapped_column\n"
            "\n\nclass User(Base):\n"
            "    created_at: Mapped[datetime] = mapped_column(default=datetime.utcnow)\n",
            line=7,
            count=1,
        ),
        Example(
            "import datetime\n\nimport sqlalchemy as sa\n\n"
            "updated = sa.Column(\n    sa.DateTime,\n    default=datetime.datetime.utcnow,\n"
            "    onupdate=datetime.datetime.utcnow,\n)\n",
            line=8,
            count=2,
        ),
        Example(
            "from datetime import datetime as dt\n\nfrom pydantic import BaseModel, Field\n\n\n"
            "class Event(BaseModel):\n"
            "    at: dt = Field(default_factory=lambda: dt.utcnow())\n",
            line=7,
        ),
        Example(
            "from datetime import datetime\n\nfrom sqlmodel import Field, SQLModel\n\n\n"
            "class Hero(SQLModel, table=True):\n"
            "    created_at: datetime = Field(default_factory=datetime.utcnow)\n",
            line=7,
        ),
        # Called at import time: even worse, still naive.
        Example(
            "from datetime import datetime\n\nfrom sqlalchemy import Column, DateTime\n\n"
            "created = Column(DateTime, default=datetime.utcnow())\n",
            line=5,
        ),
    )

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
            if not isinstance(parent, _PASS_THROUGH):
                return
