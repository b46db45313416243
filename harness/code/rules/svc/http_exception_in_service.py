from __future__ import annotations

from typing import ClassVar

import libcst as cst

from harness.code.rule import CodeRule
from harness.code.unit import Role
from harness.registry import Example

#: Where the web framework's HTTP error lives, as resolved dotted names.
HTTP_EXCEPTIONS = frozenset(
    {
        "fastapi.HTTPException",
        "fastapi.exceptions.HTTPException",
        "starlette.exceptions.HTTPException",
        "starlette.HTTPException",
    }
)


class HttpExceptionInService(CodeRule):
    """
    ## What it does
    Flags `raise HTTPException(...)` (or `raise HTTPException`) in a service or repository
    module, where `HTTPException` resolves through the imports to FastAPI's or Starlette's
    class (`from fastapi import HTTPException as HE`, `import fastapi` +
    `fastapi.HTTPException`, `fastapi.exceptions.HTTPException`,
    `starlette.exceptions.HTTPException`).

    A class defined in the same module that subclasses one of them (`class
    UserNotFound(HTTPException)`) is an HTTP error too: raising it in the service is flagged.
    Only defining such classes is not flagged, and neither is a local class merely named
    `HTTPException` that is not imported from FastAPI or Starlette.

    ## Why is this bad?
    The service layer is then tied to HTTP: it cannot be reused from a CLI, a worker or
    another transport, status codes get decided far from the router, and tests of business
    logic have to assert on HTTP details.

    ## Example
    ```python
    from fastapi import HTTPException

    async def get_user(repo: UserRepo, user_id: UUID) -> User:
        user = await repo.get(user_id)
        if user is None:
            raise HTTPException(status_code=404, detail="User not found")
        return user
    ```

    ## Use instead
    ```python
    class UserNotFound(Exception):
        pass

    async def get_user(repo: UserRepo, user_id: UUID) -> User:
        user = await repo.get(user_id)
        if user is None:
            raise UserNotFound(user_id)
        return user
    # and in the router (or an exception handler): map UserNotFound to a 404
    ```
    """

    code = "SVC001"
    name = "http-exception-in-service"
    message = (
        "`HTTPException` raised in service or repository code; raise a domain error and map it"
        " to HTTP in the router"
    )
    roles: ClassVar[frozenset[Role]] = frozenset({Role.SERVICE, Role.REPOSITORY})
    _http_classes: set[str] | None = None  # computed per unit, on the first raise
    valid = (
        # Only defines an HTTP error class.
        "from fastapi import HTTPException\n\nclass NotFound(HTTPException):\n    pass\n",
        # Strings mentioning the pattern.
        'def f():\n    """raise HTTPException(404) here."""\n'
        "    return 'raise HTTPException(status_code=404)'\n",
        # A local class with the same name, not FastAPI's.
        "class HTTPException(Exception):\n    pass\n\ndef f():\n    raise HTTPException('x')\n",
        # Domain error.
        "class UserNotFound(Exception):\n    pass\n\n"
        "async def get(user_id):\n    raise UserNotFound(user_id)\n",
        # Routers may raise it.
        Example(
            "from fastapi import HTTPException\n\n@router.get('/')\n"
            "async def read():\n    raise HTTPException(status_code=404)\n",
            role="router",
        ),
        # Catching it is not raising it.
        "from fastapi import HTTPException\ntry:\n    f()\nexcept HTTPException:\n    raise\n",
    )
    invalid = (
        Example(
            "from fastapi import HTTPException\n\nasync def get(repo, user_id):\n"
            "    user = await repo.get(user_id)\n    if user is None:\n"
            "        raise HTTPException(status_code=404, detail='User not found')\n"
            "    return user\n",
            line=6,
        ),
        Example(
            "from fastapi import HTTPException as HE\n\ndef f():\n    raise HE\n",
            line=4,
        ),
        Example(
            "import fastapi\n\ndef f(e):\n"
            "    raise fastapi.HTTPException(status_code=409) from e\n",
            line=4,
        ),
        Example(
            "from starlette.exceptions import HTTPException as StarletteHTTPException\n"
            "class Repo:\n    def f(self):\n        raise StarletteHTTPException(500)\n",
            line=4,
        ),
        Example(
            "import fastapi.exceptions as fe\n\ndef f():\n    raise fe.HTTPException(400)\n",
            line=4,
        ),
        # A local subclass of HTTPException is still an HTTP error.
        Example(
            "from fastapi import HTTPException\n\nclass NotFound(HTTPException):\n    pass\n\n"
            "class Conflict(NotFound):\n    pass\n\n"
            "def f():\n    raise Conflict(status_code=409)\n",
            line=10,
        ),
        Example(
            "from fastapi import HTTPException\n\ndef outer():\n    def inner():\n"
            "        raise HTTPException(403)\n    return inner\n",
            line=5,
            role="service",
        ),
    )

    def _local_http_classes(self) -> set[str]:
        """Names of classes defined in this unit that subclass an HTTP exception."""
        if self._http_classes is None:
            found: set[str] = set()
            for info in self.facts.classes.values():  # source order: bases come first
                if any(b in HTTP_EXCEPTIONS or b in found for b in info.bases if b):
                    found.add(info.name)
            self._http_classes = found
        return self._http_classes

    def visit_Raise(self, node: cst.Raise) -> None:
        exc = node.exc
        if exc is None:
            return
        target = exc.func if isinstance(exc, cst.Call) else exc
        name = self.facts.resolve(target)
        if name is None:
            return
        if name in HTTP_EXCEPTIONS or (
            isinstance(target, cst.Name) and name in self._local_http_classes()
        ):
            self.report(node)
