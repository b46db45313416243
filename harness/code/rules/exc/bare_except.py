from __future__ import annotations

from harness.code.subjects import ExceptHandlerRule, Handler
from harness.registry import Invalid, Valid


class BareExcept(ExceptHandlerRule):
    """
    ## What it does
    Flags a bare `except:` clause.

    ## Why is this bad?
    A bare `except:` also catches `KeyboardInterrupt`, `SystemExit` and
    `asyncio.CancelledError`, so a service cannot be stopped or cancelled cleanly, and real
    bugs are hidden behind whatever the handler does.

    ## Example
    ```python
    try:
        user = await repo.get(user_id)
    except:
        user = None
    ```

    ## Use instead
    ```python
    try:
        user = await repo.get(user_id)
    except UserNotFound:
        user = None
    ```
    """

    code = "EXC002"
    name = "bare-except"
    message = "Bare `except:` catches everything, including cancellation; name the exception"
    valid = (
        Valid("""
            try:
                f()
            except ValueError:
                pass
            """),
        Valid("""
            try:
                f()
            except (KeyError, IndexError) as exc:
                raise LookupError() from exc
            """),
        Valid("""
            try:
                f()
            except* ValueError:
                pass
            """),
        Valid('''
            """except: in a docstring is not a handler."""
            '''),
    )
    invalid = (
        Invalid(
            """
            try:
                f()
            except:
                pass
            """,
            line=3,
        ),
        Invalid(
            """
            try:
                f()
            except:
                raise
            """,
            line=3,
        ),
        Invalid(
            """
            def g():
                try:
                    f()
                except:
                    return []
            """,
            line=4,
        ),
    )

    def check_handler(self, node: Handler) -> None:
        if node.type is None:
            self.report(node)
