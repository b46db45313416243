from __future__ import annotations

from harness.code.subjects import ExceptHandlerRule, Handler
from harness.registry import Example


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
        "try:\n    f()\nexcept ValueError:\n    pass\n",
        "try:\n    f()\nexcept (KeyError, IndexError) as exc:\n    raise LookupError() from exc\n",
        "try:\n    f()\nexcept* ValueError:\n    pass\n",
        '"""except: in a docstring is not a handler."""\n',
    )
    invalid = (
        Example("try:\n    f()\nexcept:\n    pass\n", line=3),
        Example("try:\n    f()\nexcept:\n    raise\n", line=3),
        Example("def g():\n    try:\n        f()\n    except:\n        return []\n", line=4),
    )

    def check_handler(self, node: Handler) -> None:
        if node.type is None:
            self.report(node)
