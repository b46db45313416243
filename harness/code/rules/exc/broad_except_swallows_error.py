from __future__ import annotations

import libcst as cst

from harness.code.handlers import swallows
from harness.code.subjects import ExceptHandlerRule, Handler
from harness.registry import Invalid, Valid

#: Exception classes that catch (nearly) everything, as resolved dotted names.
BROAD_EXCEPTIONS = frozenset(
    {"Exception", "BaseException", "builtins.Exception", "builtins.BaseException"}
)
#: A database library's root error class catches every failure of that database, outages
#: included: as broad, for a handler that swallows, as `Exception`.
DATABASE_ROOT_ERRORS = frozenset(
    {
        "sqlalchemy.exc.SQLAlchemyError",
        "sqlalchemy.exc.DBAPIError",
        "sqlite3.Error",
        "sqlite3.DatabaseError",
        "psycopg2.Error",
        "psycopg2.DatabaseError",
        "psycopg.Error",
        "psycopg.DatabaseError",
        "asyncpg.PostgresError",
        "asyncpg.exceptions.PostgresError",
    }
)
#: Context managers that silence the exceptions they are given.
SUPPRESS_CALLS = frozenset({"contextlib.suppress"})


class BroadExceptSwallowsError(ExceptHandlerRule):
    """
    ## What it does
    Flags a broad exception handler (bare `except:`, `except Exception`, `except
    BaseException`, a database library's root error class such as SQLAlchemy's
    `SQLAlchemyError` or `DBAPIError`, `sqlite3.Error`, `psycopg.Error` or
    `asyncpg.PostgresError`, or a tuple containing one of them, through import aliases)
    whose body swallows the error: it only passes, `...`, continues, breaks, logs or prints,
    assigns or returns a default (`None`, a constant, an empty collection such as `[]`,
    `{}`, `()`, `set()`, `""`, `0`, `False`) and never re-raises. `with
    contextlib.suppress(Exception):` is flagged too, since it is the same swallow spelled
    differently.

    Decisions:
    - A `raise` anywhere in the handler (`raise`, `raise X`, `raise X from e`), even in only
      one branch of an `if`, means the author decided when to propagate: not flagged.
    - Only `if` statements whose every branch is itself swallow-only are looked through; a
      handler with a loop, `with`, nested `try` or any other call does real work (a recovery
      function, a computed fallback): not flagged.
    - Cleanup is not recovery: a `.rollback()` or `.close()` call without arguments, on any
      receiver (guessed from the method name), is looked through when the handler also
      logs, passes or returns a default (`db.rollback()`, `log.error(...)`, `return None`).
      A handler that only rolls back is taken as deliberate: not flagged.
    - Returning a non-default value is handling, not swallowing: `return cached`,
      `return {"error": str(exc)}` and a router's `return JSONResponse(status_code=500, ...)`
      (which tells the client the request failed) are not flagged.
    - An empty page is a default: a literal tuple, list or dict holding an empty collection
      or `None`, and otherwise only numbers (`return {"items": [], "total": 0}`,
      `return [], 0`, `return None, None`). A string or a boolean in it
      (`{"ok": False, "items": []}`) may tell the caller what failed: not flagged.
    - Assigning a default constant to a plain name (`user = None`) counts as swallowing: it is
      the same as returning that default.
    - Logging is a call on a name containing `log` (`logger.error`, `self.log.warning`,
      structlog's `await log.aerror(...)`, `logger.bind(...).error(...)`), a logging
      function imported by name (`from logging import exception`), `print`,
      `traceback.print_exc()`, `warnings.warn` or an error tracker's report
      (`sentry_sdk.capture_exception`); importing `logging`, `traceback`, `sys` or
      `warnings` in the handler to do so is part of the logging.

    Overlap: a bare `except:` that swallows is reported here only; EXC002 reports the bare
    `except:` clauses that do something else with the error.

    ## Why is this bad?
    The caller cannot tell "nothing found" from "the database is down": the real error, its
    traceback and any cancellation are lost, and bugs surface far from their cause as `None`
    or empty results. Logging alone does not help the caller either.

    ## Example
    ```python
    try:
        user = await repo.get(user_id)
    except Exception:
        logger.exception("lookup failed")
        return None
    ```

    ## Use instead
    ```python
    try:
        user = await repo.get(user_id)
    except UserNotFound:
        return None
    except DatabaseError:
        logger.exception("lookup failed")
        raise
    ```
    """

    code = "EXC001"
    name = "broad-except-swallows-error"
    message = "Broad exception handler swallows the error; catch specific exceptions or re-raise"
    valid = (
        # A payload with a flag or a message tells the caller that it failed.
        Valid("""
            def page(repo):
                try:
                    return {"ok": True, "items": repo.all()}
                except Exception:
                    return {"ok": False, "items": []}
            """),
        # A specific database error, handled: a duplicate is not an outage.
        Valid("""
            from sqlalchemy.exc import IntegrityError

            def add(session, user):
                try:
                    session.add(user)
                    session.commit()
                except IntegrityError:
                    return None
                return user
            """),
        # The root database error, rolled back and re-raised.
        Valid("""
            from sqlalchemy.exc import SQLAlchemyError

            async def save(session, order):
                try:
                    await session.commit()
                except SQLAlchemyError:
                    await session.rollback()
                    raise
            """),
        # Importing a fallback in the handler is real work, not reporting.
        Valid("""
            def parse(text):
                try:
                    return fast_parse(text)
                except Exception:
                    import json
                    return json.loads(text)
            """),
        # Re-raises after logging.
        Valid("""
            try:
                f()
            except Exception:
                logger.exception('boom')
                raise
            """),
        # Re-raise in a nested branch: the author decides when to propagate.
        Valid("""
            try:
                f()
            except Exception as exc:
                if retryable(exc):
                    pass
                else:
                    raise ServiceError() from exc
            """),
        # Narrow exception.
        Valid("""
            try:
                f()
            except (KeyError, ValueError):
                return None
            """),
        # Only a rollback: deliberate. A computed fallback is real work.
        Valid("""
            try:
                f()
            except Exception:
                await session.rollback()
            """),
        # Closing after a failure and answering 500 tells the client.
        Valid("""
            async def h(conn):
                try:
                    return await f(conn)
                except Exception:
                    await conn.close()
                    return JSONResponse(status_code=500, content={"detail": "failed"})
            """),
        Valid("""
            def g():
                try:
                    return fetch()
                except Exception:
                    return cached
            """),
        # A 500 response tells the client the request failed.
        Valid("""
            async def h():
                try:
                    return await f()
                except Exception as exc:
                    return JSONResponse(status_code=500, content={'detail': str(exc)})
            """),
        # A local class that happens to be named `Exception` is not the builtin.
        Valid("""
            from app.errors import Exception
            try:
                f()
            except Exception:
                pass
            """),
        # Strings mentioning the pattern are not handlers.
        Valid('''
            """try:
                f()
            except Exception:
                pass
            """
            '''),
        Valid("""
            import contextlib
            with contextlib.suppress(FileNotFoundError):
                os.remove(p)
            """),
    )
    invalid = (
        # Logging functions imported by name; a handler importing logging to log.
        Invalid(
            """
            from logging import exception

            def load(repo):
                try:
                    return repo.all()
                except Exception:
                    exception("load failed")
                    return []
            """,
            line=6,
        ),
        Invalid(
            """
            def load(repo):
                try:
                    return repo.all()
                except Exception as exc:
                    import logging
                    logging.getLogger(__name__).error("load failed: %s", exc)
                    return None
            """,
            line=4,
        ),
        Invalid(
            """
            try:
                f()
            except Exception:
                pass
            """,
            line=3,
        ),
        Invalid(
            """
            try:
                f()
            except:
                ...
            """,
            line=3,
        ),
        Invalid(
            """
            def g():
                try:
                    return fetch()
                except Exception as e:
                    logger.error(f'failed: {e}')
                    return []
            """,
            line=4,
        ),
        Invalid(
            """
            for x in xs:
                try:
                    f(x)
                except (ValueError, BaseException):
                    continue
            """,
            line=4,
        ),
        # Alias through imports.
        Invalid(
            """
            import builtins as b
            try:
                f()
            except b.Exception:
                print('oops')
            """,
            line=4,
        ),
        # Every branch swallows; docstring-like string is a no-op.
        Invalid(
            """
            try:
                user = load()
            except Exception as exc:
                'ignore'
                if debug:
                    log.warning('load failed: %s', exc)
                user = None
            """,
            line=3,
        ),
        # Nested function: the inner handler is still checked.
        Invalid(
            """
            def outer():
                def inner():
                    try:
                        return f()
                    except Exception:
                        return {}
                return inner
            """,
            line=5,
        ),
        # An empty page is the same default as `[]`.
        Invalid(
            """
            def list_orders(repo, page):
                try:
                    items, total = repo.page(page)
                except Exception:
                    return {"items": [], "total": 0, "next": None}
                return {"items": items, "total": total}
            """,
            line=4,
        ),
        Invalid(
            """
            def search(repo, q):
                try:
                    return repo.search(q), repo.count(q)
                except Exception as exc:
                    log.warning("search failed: %s", exc)
                    return [], 0
            """,
            line=4,
        ),
        # The root database error swallowed: "no orders" when the database is down.
        Invalid(
            """
            from sqlalchemy import exc, select

            async def list_orders(session, customer_id):
                try:
                    result = await session.execute(select(Order))
                    return list(result.scalars())
                except exc.SQLAlchemyError as error:
                    logger.exception("listing orders failed: %s", error)
                    return []
            """,
            line=7,
        ),
        # Reported to the error tracker, but the caller gets "no users".
        Invalid(
            """
            import sentry_sdk

            def list_users(session):
                try:
                    return session.scalars(select(User)).all()
                except Exception as exc:
                    sentry_sdk.capture_exception(exc)
                    return []
            """,
            line=6,
        ),
        # Rolled back and logged, then "no user": cleanup does not tell the caller.
        Invalid(
            """
            def create_user(db, user):
                try:
                    db.add(user)
                    db.commit()
                except Exception as e:
                    db.rollback()
                    logger.error("create failed: %s", e)
                    return None
                return user
            """,
            line=5,
        ),
        Invalid(
            """
            from contextlib import suppress
            with suppress(Exception):
                send_mail()
            """,
            line=2,
        ),
    )

    def _is_broad(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Tuple):
            return any(self._is_broad(el.value) for el in node.elements)
        name = self.facts.resolve(node)
        return name in BROAD_EXCEPTIONS or name in DATABASE_ROOT_ERRORS

    def check_handler(self, node: Handler) -> None:
        if (node.type is None or self._is_broad(node.type)) and swallows(node.body, self.facts):
            self.report(node)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        call = node.item
        if (
            isinstance(call, cst.Call)
            and self.facts.resolve_call(call) in SUPPRESS_CALLS
            and any(self._is_broad(arg.value) for arg in call.args)
        ):
            self.report(call, "`suppress(Exception)` swallows every error; suppress specific ones")
