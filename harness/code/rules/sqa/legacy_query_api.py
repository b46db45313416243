from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from harness.code.facts import ClassKind, Symbol
from harness.code.known import SESSION_CALLS, SESSION_TYPES
from harness.code.matchers import positional_args, split_optional, unwrap_annotated
from harness.code.names import Binding
from harness.code.rule import CodeRule
from harness.registry import Invalid, Valid

#: `Model.query`, the Flask-SQLAlchemy legacy query property of a model class.
MODEL_QUERY = m.Attribute(value=m.Name(), attr=m.Name("query"))

#: Receiver names taken to be a SQLAlchemy session (`session`, `self._db`, `db.session`, ...).
SESSION_NAMES = frozenset({"session", "db", "db_session", "dbsession", "sess", "db_sess"})
#: `Query` methods called on Flask-SQLAlchemy's `Model.query`.
MODEL_QUERY_METHODS = frozenset(
    {
        "filter",
        "filter_by",
        "get",
        "get_or_404",
        "first_or_404",
        "one_or_404",
        "all",
        "first",
        "one",
        "one_or_none",
        "order_by",
        "paginate",
        "count",
        "join",
        "options",
        "limit",
        "offset",
        "with_entities",
        "distinct",
    }
)
#: Session methods that query: each call of one on a session is a site of the rule.
SESSION_METHODS = frozenset({"query", "execute", "scalars", "scalar", "get", "get_one"})
#: A first argument of this type is raw SQL for some other library, not an ORM entity.
STRING_TYPES = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)


class LegacyQueryApi(CodeRule):
    """
    ## What it does
    Flags the SQLAlchemy 1.x `Query` API: `session.query(Model)...` and Flask-SQLAlchemy's
    `Model.query.filter(...)`.

    `.query(...)` is flagged when its receiver is a session: a name or attribute called
    `session`, `db`, `db_session`, `dbsession`, `sess` or `db_sess` (leading underscores
    ignored, so `self._session` and `db.session` count), a parameter or variable annotated
    `Session` / `AsyncSession` / `scoped_session` from SQLAlchemy or SQLModel (also inside
    `Optional[...]` or `Annotated[...]`), a variable assigned a session (`s = Session(engine)`,
    `s = SessionLocal()` where `SessionLocal = sessionmaker(...)` here or in another file of
    the project, `s = object_session(x)`), a `with Session(engine) as s:` target, a
    module-level `scoped_session(...)` object, or such a call itself
    (`object_session(x).query(...)`). In a fragment that imports nothing, `Session` means
    SQLAlchemy's. A call whose first argument is a string literal
    (`db.query("SELECT 1")`, other libraries' raw SQL) is not flagged, nor is `.query(` on
    anything else (`es.query(...)`, `client.query(...)`). `Model.query.<method>(...)` is
    flagged when `Model` is an ORM class of the file or an imported class name
    (capitalized: `request.query.get(...)` is a query string, not a model). `session.get()`,
    `session.execute()` and `session.scalars()` are the 2.0 API and never flagged.

    ## Why is this bad?
    `Query` is the legacy API in SQLAlchemy 2.0: it is not available on `AsyncSession` at
    all, is untyped (`query(User).first()` is `Any`), and `Query.get()` is deprecated.
    `select()` statements work the same with sync and async sessions and return typed rows.

    ## Example
    ```python
    from sqlalchemy.orm import Session

    def get_user_by_email(db: Session, email: str) -> User | None:
        return db.query(User).filter(User.email == email).first()
    ```

    ## Use instead
    ```python
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    def get_user_by_email(db: Session, email: str) -> User | None:
        return db.scalars(select(User).where(User.email == email)).first()
    ```
    """

    code = "SQA006"
    name = "legacy-query-api"
    message = "Legacy `Query` API; use `session.execute(select(...))` / `session.scalars(...)`"
    valid = (
        Valid("""
            from sqlalchemy import select
            from sqlalchemy.orm import Session


            def get_user(db: Session, user_id: int):
                return db.scalars(select(User).where(User.id == user_id)).first()
            """),
        Valid("""
            async def get(session, user_id):
                return await session.get(User, user_id)
            """),
        # Other objects' `.query`.
        Valid("""
            def search(es, client, index):
                hits = es.query(index=index)
                return client.query('q', hits)
            """),
        # Raw SQL strings through some other library, and strings mentioning the pattern.
        Valid("""
            def count(db):
                return db.query('SELECT count(*) FROM users')
            """),
        Valid('''
            """Never call db.query(User) here."""
            HINT = 'session.query(User).all() is legacy'
            '''),
        Valid("""
            from elasticsearch_dsl import Search

            s = Search().query('match', title='x')
            """),
        Valid("""
            from flask import request


            def page():
                return request.query.get('page')
            """),
        # A parameter named like a class, with no annotation, is not a session.
        Valid("""
            def search(Session, term):
                return Session.query(term)
            """),
        # A name bound to something else in the function is not a guess.
        Valid("""
            from elasticsearch import Elasticsearch

            def search(term):
                s = Elasticsearch()
                return s.query(term)
            """),
    )
    invalid = (
        Invalid(
            """
            from sqlalchemy import select
            from sqlalchemy.orm import Session


            def get_user(db: Session, user_id: int):
                return db.query(User).filter(User.id == user_id).first()
            """,
            line=6,
            count=1,
        ),
        Invalid(
            """
            class UserRepository:
                def __init__(self, session):
                    self._session = session

                def get(self, user_id):
                    return self._session.query(User).get(user_id)
            """,
            line=6,
        ),
        # Any name annotated as a session.
        Invalid(
            """
            from typing import Annotated

            from fastapi import Depends
            from sqlalchemy.ext.asyncio import AsyncSession


            async def list_users(conn: Annotated[AsyncSession, Depends(get_db)]):
                return conn.query(User).all()
            """,
            line=8,
        ),
        Invalid(
            """
            import sqlalchemy.orm as orm


            def purge(engine):
                with orm.Session(engine) as s:
                    s.query(Token).delete()
            """,
            line=6,
        ),
        # Flask-SQLAlchemy.
        Invalid(
            """
            from app.models import User


            def show(user_id):
                return User.query.get_or_404(user_id)
            """,
            line=5,
        ),
        Invalid(
            """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            class User(db.Model):
                id = db.Column(db.Integer, primary_key=True)


            users = db.session.query(User).all()
            active = User.query.filter_by(active=True)
            """,
            line=10,
            count=2,
        ),
        # A session made in the function, from a factory of another block, or found again.
        Invalid(
            """
            from sqlalchemy.orm import Session

            def count(engine):
                s = Session(engine)
                return s.query(User).count()
            """,
            line=5,
        ),
        Invalid(
            """
            from sqlalchemy.orm import object_session

            def siblings(task):
                return object_session(task).query(Task).all()
            """,
            line=4,
        ),
        Invalid(
            """
            from sqlalchemy.orm import scoped_session, sessionmaker

            Session = scoped_session(sessionmaker())

            def users():
                return Session.query(User).all()
            """,
            line=6,
        ),
        Invalid(
            """
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()

            def users():
                conn = SessionLocal()
                return conn.query(User).all()
            """,
            line=7,
        ),
        # A fragment that imports nothing: `Session` is SQLAlchemy's.
        Invalid(
            """
            def get_user(conn: Session, user_id: int):
                return conn.query(User).get(user_id)
            """,
            line=2,
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method in SESSION_METHODS and self._is_session(func.value):
            self.site()  # a database query: legacy or 2.0 style
        if method == "query":
            first = next(positional_args(node), None)
            if first is not None and isinstance(first, STRING_TYPES):
                return
            if self._is_session(func.value):
                self.report(node)
        elif method in MODEL_QUERY_METHODS:
            receiver = func.value
            if m.matches(receiver, MODEL_QUERY) and self._is_model(receiver.value.value):  # type: ignore[attr-defined]
                self.report(receiver)

    def _is_model(self, name: str) -> bool:
        info = self.facts.class_of(self.facts.resolve_name(name))
        if info is not None:
            return info.kind in (ClassKind.SQLA_MODEL, ClassKind.SQLMODEL_TABLE) or any(
                b is not None and b.endswith(".Model") for b in info.bases
            )
        # An imported class (`from app.models import User`), not `from flask import request`.
        return name in self.facts.imports and name[:1].isupper()

    def _is_session(self, receiver: cst.BaseExpression, depth: int = 0) -> bool:
        facts = self.facts
        if isinstance(receiver, cst.Attribute):
            return receiver.attr.value.lstrip("_") in SESSION_NAMES
        if isinstance(receiver, cst.Call):  # `Session(engine)`, `SessionLocal()`
            callee = facts.resolve(receiver.func)
            return (
                callee in SESSION_TYPES
                or callee in SESSION_CALLS
                or (facts.session_symbol(callee) is Symbol.SESSION_FACTORY)
            )
        if not isinstance(receiver, cst.Name):
            return False
        if receiver.value.lstrip("_") in SESSION_NAMES:
            return True
        for scope in reversed(facts.scopes):
            found = scope.get(receiver.value)
            if found is not None:
                return depth < 3 and any(self._binds_session(b, depth) for b in found)
        return facts.session_symbol(facts.resolve(receiver)) is Symbol.SESSION

    def _is_session_type(self, annotation: cst.BaseExpression) -> bool:
        members, _ = split_optional(annotation, self.facts)
        return any(
            self.facts.resolve(unwrap_annotated(member, self.facts)[0]) in SESSION_TYPES
            for member in members
        )

    def _binds_session(self, binding: Binding, depth: int) -> bool:
        """`name: Session` as a parameter or variable, `s = Session(engine)`,
        `s = SessionLocal()`, `with Session(...) as s`, `s = object_session(x)`."""
        if binding.annotation is not None and self._is_session_type(binding.annotation):
            return True
        value = binding.value
        if isinstance(value, cst.Await):
            value = value.expression
        return value is not None and self._is_session(value, depth + 1)
