from __future__ import annotations

import libcst as cst

from harness.code.subjects import CallRule
from harness.registry import Invalid, Valid

#: The 1.x factories building a declarative base (and the class decorator doing the same).
LEGACY_BASE_FACTORIES = frozenset(
    {
        "sqlalchemy.orm.declarative_base",
        "sqlalchemy.orm.decl_api.declarative_base",
        "sqlalchemy.ext.declarative.declarative_base",
        "sqlalchemy.orm.as_declarative",
        "sqlalchemy.orm.decl_api.as_declarative",
        "sqlalchemy.ext.declarative.as_declarative",
    }
)


class LegacyDeclarativeBase(CallRule):
    """
    ## What it does
    Flags a call to `declarative_base()` from `sqlalchemy.orm` or
    `sqlalchemy.ext.declarative` (under any alias), and the `@as_declarative()` decorator.
    The import alone is not flagged: the call is, once.

    Fragments: in code that imports nothing ("the rest is unchanged"), `declarative_base`
    resolve to the library's names when neither the unit nor its project binds them; a name the
    code binds to something else never does. A class with an unknown base is an ORM class when
    its body has `__tablename__` or `Column(...)` / `mapped_column(...)` attributes.

    ## Why is this bad?
    A base made by `declarative_base()` is typed as `Any`, so type checkers know nothing
    about the models built on it, and `Mapped[...]` annotations lose their checking.
    `sqlalchemy.ext.declarative.declarative_base` is deprecated since 2.0. Subclassing
    `DeclarativeBase` gives a real class that type checkers understand, and a place for
    `type_annotation_map` and shared metadata naming conventions.

    ## Example
    ```python
    from sqlalchemy.orm import declarative_base

    Base = declarative_base()
    ```

    ## Use instead
    ```python
    from sqlalchemy.orm import DeclarativeBase


    class Base(DeclarativeBase):
        pass
    ```
    """

    code = "SQA007"
    name = "legacy-declarative-base"
    message = "`declarative_base()` is the legacy API; subclass `sqlalchemy.orm.DeclarativeBase`"
    valid = (
        # A name bound to something else is never read as the library's.
        Valid(
            """
            from myorm import declarative_base

            Base = declarative_base()
            """
        ),
        Valid("""
            from sqlalchemy.orm import DeclarativeBase


            class Base(DeclarativeBase):
                pass
            """),
        # Only the import, and another library's `declarative_base`.
        Valid("""
            from sqlalchemy.orm import declarative_base  # noqa: F401
            """),
        Valid("""
            from mylib.orm import declarative_base

            Base = declarative_base()
            """),
        Valid("""
            def declarative_base():
                return object


            Base = declarative_base()
            """),
        # Strings and docstrings mentioning the call.
        Valid('''
            """Base = declarative_base() is legacy."""
            TIP = 'declarative_base() -> DeclarativeBase'
            '''),
    )
    invalid = (
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            Base = declarative_base()
            """,
            line=1,
        ),
        Invalid(
            """
            from sqlalchemy.orm import declarative_base

            Base = declarative_base()
            """,
            line=3,
            count=1,
        ),
        Invalid(
            """
            from sqlalchemy.ext.declarative import declarative_base

            Base = declarative_base(metadata=metadata)
            """,
            line=3,
        ),
        Invalid(
            """
            import sqlalchemy as sa

            Base = sa.orm.declarative_base()
            """,
            line=3,
        ),
        Invalid(
            """
            from sqlalchemy.orm import declarative_base as make_base

            Model = make_base()
            """,
            line=3,
        ),
        Invalid(
            """
            from sqlalchemy.orm import as_declarative


            @as_declarative()
            class Base:
                pass
            """,
            line=4,
        ),
    )

    callees = LEGACY_BASE_FACTORIES

    def check_call(self, node: cst.Call, callee: str) -> None:
        self.report(node)
