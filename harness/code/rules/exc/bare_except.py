from __future__ import annotations

from harness.code.handlers import swallows
from harness.code.subjects import ExceptHandlerRule, Handler
from harness.registry import Invalid, Valid


class BareExcept(ExceptHandlerRule):
    """
    ## What it does
    Flags a bare `except:` clause.

    Overlap: a bare `except:` whose body swallows the error (`except: pass`,
    `except: return []`) is EXC001's finding, not this rule's: the lost error is the worse
    defect of the two, and EXC001 blocks a sample by default. One handler, one finding.

    ## Why is this bad?
    A bare `except:` also catches `KeyboardInterrupt`, `SystemExit` and
    `asyncio.CancelledError`, so a service cannot be stopped or cancelled cleanly, and real
    bugs are hidden behind whatever the handler does.

    ## Example
    ```python
    try:
        await session.commit()
    except:
        await session.rollback()
        raise
    ```

    ## Use instead
    ```python
    try:
        await session.commit()
    except SQLAlchemyError:
        await session.rollback()
        raise
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
        # A bare `except:` that swallows is EXC001's finding.
        Valid("""
            try:
                f()
            except:
                pass
            """),
    )
    invalid = (
        Invalid(
            """
            def load(path):
                try:
                    return open(path).read()
                except:
                    log_and_reraise()
            """,
            line=4,
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
            async def save(session, row):
                try:
                    session.add(row)
                    await session.commit()
                except:
                    await session.rollback()
                    raise
            """,
            line=5,
        ),
    )

    def check_handler(self, node: Handler) -> None:
        if node.type is None and not swallows(node.body, self.facts):
            self.report(node)
