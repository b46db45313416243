from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from harness.code.known import FASTAPI_PARAMETERS
from harness.code.models import annotation_metadata
from harness.code.names import BindingKind, scope_statements
from harness.code.provides import is_route
from harness.code.rule import CodeRule
from harness.code.unit import Role
from harness.registry import Invalid, Valid

if TYPE_CHECKING:
    from harness.code.facts import Facts

#: Roles whose every function is service code.
SERVICE_ROLES = frozenset({Role.SERVICE, Role.REPOSITORY})
#: Class names that mark service code in any module (lower case).
SERVICE_SUFFIXES = ("service", "repository", "repo", "usecase", "dao")
SERVICE_PREFIXES = ("crud",)
#: How many bases up a project class is followed to find an HTTP error.
MAX_BASE_DEPTH = 8

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
    `HTTPException` that is not imported from FastAPI or Starlette. Subclasses defined in
    another file of the project (`app/errors.py`) count as well. A local variable is
    followed when every assignment of it in the function builds the same class
    (`error = HTTPException(409)`, then `raise error`), and so is a module-level function
    of the file or the project whose every `return` builds one (`raise not_found(id)`).

    Service code is a module whose role is service or repository (from the template, or the
    path: `services/`, `user_repository.py`, `crud.py`), and, in any module, a class whose
    name says it is one: it ends in `Service`, `Repository`, `Repo`, `UseCase` or `DAO`, or
    starts with `CRUD` (`class OrderService`, `class CRUDUser`). That second part is a guess
    from the name. Routes and FastAPI dependencies are HTTP code wherever they live: a
    function decorated as a route, or taking a parameter that defaults to (or is annotated
    with) `Depends(...)`, `Security(...)`, `Header(...)`, ... is not checked, such as
    `get_current_user(token: str = Depends(oauth2))` in `services/auth.py`.

    Fragments: in code that imports nothing ("the rest is unchanged"), `HTTPException` resolve
    to the library's names when neither the unit nor its project binds them; a name the code
    binds to something else never does.

    ## Why is this bad?
    The service layer is then tied to HTTP: it cannot be reused from a CLI, a worker or
    another transport, status codes get decided far from the router, and tests of business
    logic have to assert on HTTP details.

    ## Example
    ```python
    from uuid import UUID

    from fastapi import HTTPException

    class UserService:
        def __init__(self, repo: UserRepo) -> None:
            self.repo = repo

        async def get_user(self, user_id: UUID) -> User:
            user = await self.repo.get(user_id)
            if user is None:
                raise HTTPException(status_code=404, detail="User not found")
            return user
    ```

    ## Use instead
    ```python
    from uuid import UUID

    class UserNotFound(Exception):
        pass

    class UserService:
        def __init__(self, repo: UserRepo) -> None:
            self.repo = repo

        async def get_user(self, user_id: UUID) -> User:
            user = await self.repo.get(user_id)
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
    _http_classes: set[str] | None = None  # computed per unit, on the first raise
    valid = (
        # A name bound to something else is never read as the library's.
        Valid(
            """
            class HTTPException(Exception):
                pass

            def get_user(repo, user_id):
                raise HTTPException(user_id)
            """,
            role="service",
        ),
        # Only defines an HTTP error class.
        Valid("""
            from fastapi import HTTPException

            class NotFound(HTTPException):
                pass
            """),
        # Strings mentioning the pattern.
        Valid('''
            def f():
                """raise HTTPException(404) here."""
                return 'raise HTTPException(status_code=404)'
            '''),
        # A local class with the same name, not FastAPI's.
        Valid("""
            class HTTPException(Exception):
                pass

            def f():
                raise HTTPException('x')
            """),
        # Domain error.
        Valid("""
            class UserNotFound(Exception):
                pass

            async def get(user_id):
                raise UserNotFound(user_id)
            """),
        # Routers may raise it.
        Valid(
            """
            from fastapi import HTTPException

            @router.get('/')
            async def read():
                raise HTTPException(status_code=404)
            """,
            role="router",
        ),
        # Outside service code: a plain module's function, a class not named as a service.
        Valid(
            """
            from fastapi import HTTPException

            def require_admin(user):
                if not user.is_admin:
                    raise HTTPException(status_code=403)

            class Permissions:
                def check(self, user):
                    raise HTTPException(status_code=403)
            """,
            role="other",
        ),
        # A FastAPI dependency and a route are HTTP code, even in a service module.
        Valid(
            """
            from typing import Annotated
            from fastapi import Depends, Header, HTTPException

            def get_current_user(token: str = Depends(oauth2_scheme)):
                if token is None:
                    raise HTTPException(status_code=401)

            def api_key(key: Annotated[str, Header()]):
                raise HTTPException(status_code=403)

            def tenant(tenant_id: Annotated[str, Header()] | None = None):
                raise HTTPException(status_code=400)

            @router.get("/me")
            def me():
                raise HTTPException(status_code=404)
            """,
            role="service",
        ),
        # Catching it is not raising it.
        Valid("""
            from fastapi import HTTPException
            try:
                f()
            except HTTPException:
                raise
            """),
    )
    invalid = (
        Invalid(
            """
            from fastapi import HTTPException, status

            def not_found(what: str) -> HTTPException:
                return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")

            class OrderService:
                async def get(self, order_id):
                    raise not_found("order")
            """,
            line=8,
        ),
        Invalid(
            """
            from fastapi import HTTPException

            class OrderService:
                def cancel(self, order):
                    conflict = HTTPException(status_code=409, detail="already shipped")
                    if order.shipped:
                        raise conflict
            """,
            line=7,
        ),
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            def get_user(repo, user_id):
                user = repo.get(user_id)
                if user is None:
                    raise HTTPException(status_code=404)
                return user
            """,
            line=4,
            role="service",
        ),
        Invalid(
            """
            from fastapi import HTTPException

            async def get(repo, user_id):
                user = await repo.get(user_id)
                if user is None:
                    raise HTTPException(status_code=404, detail='User not found')
                return user
            """,
            line=6,
            role="service",
        ),
        Invalid(
            """
            from fastapi import HTTPException as HE

            def f():
                raise HE
            """,
            line=4,
            role="service",
        ),
        Invalid(
            """
            import fastapi

            def f(e):
                raise fastapi.HTTPException(status_code=409) from e
            """,
            line=4,
            role="service",
        ),
        Invalid(
            """
            from starlette.exceptions import HTTPException as StarletteHTTPException
            class Repo:
                def f(self):
                    raise StarletteHTTPException(500)
            """,
            line=4,
        ),
        Invalid(
            """
            import fastapi.exceptions as fe

            def f():
                raise fe.HTTPException(400)
            """,
            line=4,
            role="service",
        ),
        # A local subclass of HTTPException is still an HTTP error.
        Invalid(
            """
            from fastapi import HTTPException

            class NotFound(HTTPException):
                pass

            class Conflict(NotFound):
                pass

            def f():
                raise Conflict(status_code=409)
            """,
            line=10,
            role="service",
        ),
        Invalid(
            """
            from fastapi import HTTPException

            def outer():
                def inner():
                    raise HTTPException(403)
                return inner
            """,
            line=5,
            role="service",
        ),
        # In any module, a class named as a service is service code (a guess from the name).
        Invalid(
            """
            from fastapi import HTTPException

            class OrderService:
                def __init__(self, session):
                    self.session = session

                async def get(self, order_id):
                    order = await self.session.get(Order, order_id)
                    if order is None:
                        raise HTTPException(status_code=404, detail='Order not found')
                    return order
            """,
            line=10,
            role="other",
        ),
        Invalid(
            """
            from fastapi import HTTPException

            class CRUDUser(CRUDBase):
                def get_or_404(self, db, id):
                    raise HTTPException(404)
            """,
            line=5,
            role="router",
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

    def _is_http_error(self, facts: Facts, name: str | None, depth: int = 0) -> bool:
        """Whether a resolved class name is an HTTP error: the library's, or a project class
        with one among its bases."""
        if name is None or depth > MAX_BASE_DEPTH:
            return False
        if name in HTTP_EXCEPTIONS:
            return True
        info = facts.class_of(name)
        return info is not None and any(
            self._is_http_error(info.facts, base, depth + 1) for base in info.bases
        )

    def _in_service(self) -> bool:
        stack = self.ancestors
        function = next((n for n in reversed(stack) if isinstance(n, cst.FunctionDef)), None)
        if function is not None and self._http_layer(function):
            return False
        if self.facts.role in SERVICE_ROLES:
            return True
        return any(isinstance(n, cst.ClassDef) and is_service_name(n.name.value) for n in stack)

    def _http_layer(self, fn: cst.FunctionDef) -> bool:
        """A route (`@router.get(...)`) or a FastAPI dependency (a parameter defaulting to,
        or annotated with, `Depends(...)`, `Header(...)`, ...): HTTP code, wherever it is."""
        if any(is_route(deco.decorator) for deco in fn.decorators):
            return True
        params = (*fn.params.posonly_params, *fn.params.params, *fn.params.kwonly_params)
        for param in params:
            if isinstance(param.default, cst.Call) and self._is_parameter(param.default):
                return True
            if param.annotation is not None:  # `Annotated[str, Header()]`, also in `| None`
                extras = annotation_metadata(param.annotation.annotation, self.facts)
                if any(isinstance(x, cst.Call) and self._is_parameter(x) for x in extras):
                    return True
        return False

    def _is_parameter(self, call: cst.Call) -> bool:
        return self.facts.resolve(call.func) in FASTAPI_PARAMETERS

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self._in_service():
            self.site()  # every function of a service is checked for what it raises

    def visit_Raise(self, node: cst.Raise) -> None:
        exc = node.exc
        if exc is None or not self._in_service():
            return
        if isinstance(exc, cst.Name):
            exc = self._bound_call(exc.value) or exc
        if isinstance(exc, cst.Call) and self._builds_http_error(exc):
            self.report(node)
            return
        target = exc.func if isinstance(exc, cst.Call) else exc
        name = self.facts.resolve(target)
        if name is None:
            return
        if (isinstance(target, cst.Name) and name in self._local_http_classes()) or (
            self._is_http_error(self.facts, name)
        ):
            self.report(node)

    def _builds_http_error(self, call: cst.Call) -> bool:
        """`raise not_found(order_id)`: a module-level function of the unit or the project
        whose every `return` builds an HTTP error."""
        fn = self.facts.function_of(self.facts.resolve(call.func))
        if fn is None:
            return False
        values = [
            stmt.value for stmt in scope_statements(fn.node.body) if isinstance(stmt, cst.Return)
        ]
        return bool(values) and all(
            isinstance(v, cst.Call) and self._is_http_error(fn.facts, fn.facts.resolve(v.func))
            for v in values
        )

    def _bound_call(self, name: str) -> cst.Call | None:
        """`error = HTTPException(404)` then `raise error`: the call, when every binding of
        the name in its function assigns the same callee."""
        for scope in reversed(self.facts.scopes):
            found = scope.get(name)
            if found is None:
                continue
            calls = [b.value for b in found if b.kind is BindingKind.ASSIGN]
            if len(calls) != len(found) or not all(isinstance(c, cst.Call) for c in calls):
                return None
            callees = {self.facts.resolve(c.func) for c in calls}  # type: ignore[union-attr]
            return calls[0] if len(callees) == 1 else None  # type: ignore[return-value]
        return None


def is_service_name(name: str) -> bool:
    """Whether a class name marks service or repository code (`OrderService`, `CRUDUser`)."""
    lower = name.lower()
    return lower.endswith(SERVICE_SUFFIXES) or lower.startswith(SERVICE_PREFIXES)
