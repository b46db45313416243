from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from harness.code.matchers import keyword_arg
from harness.code.subjects import CallRule
from harness.registry import Invalid, Valid

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
#: The `backref=` keyword argument of a call.
BACKREF_KEYWORD = m.Arg(keyword=m.Name("backref"))


class RelationshipBackref(CallRule):
    """
    ## What it does
    Flags `relationship(..., backref=...)` and any use of the `backref()` function from
    `sqlalchemy.orm`.

    Fragments: in code that imports nothing ("the rest is unchanged"), `relationship` and
    `backref` resolve to the library's names when neither the unit nor its project binds them;
    a name the code binds to something else never does. A class with an unknown base is an ORM
    class when its body has `__tablename__` or `Column(...)` / `mapped_column(...)` attributes.

    ## Why is this bad?
    `backref` creates the reverse attribute on the other class at mapper-configuration
    time, so it is invisible where that class is defined: readers and type checkers do not
    know `User.posts` exists, and `Mapped[...]` typing cannot describe it. Declaring both
    sides with `back_populates` keeps each attribute in its own class, typed.

    ## Example
    ```python
    from sqlalchemy.orm import DeclarativeBase, Mapped, relationship


    class Base(DeclarativeBase):
        pass


    class Post(Base):
        __tablename__ = "posts"

        author: Mapped["User"] = relationship(backref="posts")
    ```

    ## Use instead
    ```python
    from sqlalchemy.orm import DeclarativeBase, Mapped, relationship


    class Base(DeclarativeBase):
        pass


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
        # A name bound to something else is never read as the library's.
        Valid(
            """
            from myorm import relationship

            class User(Base):
                __tablename__ = "users"
                posts = relationship("Post", backref="author")
            """
        ),
        Valid("""
            from sqlalchemy import ForeignKey
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
            from app.db import Base


            class Post(Base):
                __tablename__ = 'posts'
                author: Mapped['User'] = relationship(back_populates='posts')
            """),
        # `backref` from another library, and a local `relationship` helper.
        Valid("""
            from graphlib import backref

            x = backref('a')
            """),
        Valid("""
            def relationship(*args, **kwargs):
                return args


            r = relationship('User', backref='posts')
            """),
        # A string and a docstring mentioning the pattern.
        Valid('''
            """Use relationship(backref=...) sparingly."""
            HINT = "relationship('User', backref='posts')"
            '''),
        Valid("""
            import sqlalchemy.orm as orm

            author = orm.relationship('User', lazy='selectin')
            """),
        Valid("""
            import sqlalchemy.orm as orm

            author = orm.relationship('User', backref=None)
            """),
    )
    invalid = (
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            class User(Base):
                __tablename__ = "users"
                posts = relationship("Post", backref="author")
            """,
            line=3,
        ),
        Invalid(
            """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            class User(db.Model):
                posts = db.relationship('Post', backref='author')
            """,
            line=7,
        ),
        Invalid(
            """
            from sqlalchemy import ForeignKey
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
            from app.db import Base


            class Post(Base):
                __tablename__ = 'posts'
                author: Mapped['User'] = relationship(backref='posts')
            """,
            line=8,
            count=1,
        ),
        Invalid(
            """
            from sqlalchemy.orm import backref, relationship
            from app.db import Base


            class Post(Base):
                __tablename__ = 'posts'
                author = relationship(
                    'User',
                    backref=backref('posts', lazy='dynamic'),
                )
            """,
            line=9,
            count=1,
        ),
        Invalid(
            """
            import sqlalchemy as sa


            class Post:
                author = sa.orm.relationship('User', backref='posts')
            """,
            line=5,
        ),
        Invalid(
            """
            from sqlalchemy.orm import relationship as rel

            author = rel('User', backref='posts')
            """,
            line=3,
        ),
        # `backref()` passed some other way is flagged where it is called.
        Invalid(
            """
            from sqlalchemy import orm

            REVERSE = orm.backref('posts')
            """,
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
                and m.matches(stack[-2], BACKREF_KEYWORD)
                and self.facts.resolve_call(stack[-3]) in RELATIONSHIP_CALLS
            )
            if not reported_by_relationship:
                self.report(node)
