from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from harness.code.matchers import keyword_arg
from harness.code.subjects import CallRule
from harness.registry import Example

RELATIONSHIP_CALLS = frozenset(
    {
        "sqlalchemy.orm.relationship",
        "sqlalchemy.orm.relation",
        "sqlalchemy.orm.relationships.relationship",
        "sqlalchemy.orm._orm_constructors.relationship",
    }
)
BACKREF_CALLS = frozenset({"sqlalchemy.orm.backref", "sqlalchemy.orm._orm_constructors.backref"})
#: `backref=None`: no reverse attribute at all.
NO_BACKREF = m.Name("None")

_IMPORTS = (
    "from sqlalchemy import ForeignKey\n"
    "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship\n"
    "from app.db import Base\n\n\n"
)


class RelationshipBackref(CallRule):
    """
    ## What it does
    Flags `relationship(..., backref=...)` and any use of the `backref()` function from
    `sqlalchemy.orm`.

    ## Why is this bad?
    `backref` creates the reverse attribute on the other class at mapper-configuration
    time, so it is invisible where that class is defined: readers and type checkers do not
    know `User.posts` exists, and `Mapped[...]` typing cannot describe it. Declaring both
    sides with `back_populates` keeps each attribute in its own class, typed.

    ## Example
    ```python
    class Post(Base):
        __tablename__ = "posts"

        author: Mapped["User"] = relationship(backref="posts")
    ```

    ## Use instead
    ```python
    class Post(Base):
        __tablename__ = "posts"

        author: Mapped["User"] = relationship(back_populates="posts")


    class User(Base):
        __tablename__ = "users"

        posts: Mapped[list["Post"]] = relationship(back_populates="author")
    ```
    """

    code = "SQA004"
    name = "relationship-backref"
    message = "`backref` hides the reverse attribute; declare both sides with `back_populates`"
    valid = (
        _IMPORTS + "class Post(Base):\n    __tablename__ = 'posts'\n"
        "    author: Mapped['User'] = relationship(back_populates='posts')\n",
        # `backref` from another library, and a local `relationship` helper.
        "from graphlib import backref\n\nx = backref('a')\n",
        "def relationship(*args, **kwargs):\n    return args\n\n\n"
        "r = relationship('User', backref='posts')\n",
        # A string and a docstring mentioning the pattern.
        '"""Use relationship(backref=...) sparingly."""\n'
        "HINT = \"relationship('User', backref='posts')\"\n",
        "import sqlalchemy.orm as orm\n\nauthor = orm.relationship('User', lazy='selectin')\n",
        "import sqlalchemy.orm as orm\n\nauthor = orm.relationship('User', backref=None)\n",
    )
    invalid = (
        Example(
            "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n\n\n"
            "class User(db.Model):\n    posts = db.relationship('Post', backref='author')\n",
            line=7,
        ),
        Example(
            _IMPORTS + "class Post(Base):\n    __tablename__ = 'posts'\n"
            "    author: Mapped['User'] = relationship(backref='posts')\n",
            line=8,
            count=1,
        ),
        Example(
            "from sqlalchemy.orm import backref, relationship\nfrom app.db import Base\n\n\n"
            "class Post(Base):\n    __tablename__ = 'posts'\n"
            "    author = relationship(\n        'User',\n"
            "        backref=backref('posts', lazy='dynamic'),\n    )\n",
            line=9,
            count=1,
        ),
        Example(
            "import sqlalchemy as sa\n\n\nclass Post:\n"
            "    author = sa.orm.relationship('User', backref='posts')\n",
            line=5,
        ),
        Example(
            "from sqlalchemy.orm import relationship as rel\n\n"
            "author = rel('User', backref='posts')\n",
            line=3,
        ),
        # `backref()` passed some other way is flagged where it is called.
        Example(
            "from sqlalchemy import orm\n\nREVERSE = orm.backref('posts')\n",
            line=3,
        ),
    )

    callees = RELATIONSHIP_CALLS | BACKREF_CALLS

    def check_call(self, node: cst.Call, callee: str) -> None:
        if callee in RELATIONSHIP_CALLS:
            arg = keyword_arg(node, "backref")
            if arg is not None and not m.matches(arg.value, NO_BACKREF):
                self.report(arg)
        elif callee in BACKREF_CALLS:
            # `relationship(backref=backref(...))` is reported once, at the keyword.
            stack = self.ancestors
            reported_by_relationship = (
                len(stack) > 2
                and isinstance(stack[-2], cst.Arg)
                and stack[-2].keyword is not None
                and stack[-2].keyword.value == "backref"
                and self.facts.resolve_call(stack[-3]) in RELATIONSHIP_CALLS
            )
            if not reported_by_relationship:
                self.report(node)
