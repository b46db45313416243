from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from harness.code.rule import CodeRule
from harness.registry import Invalid, Valid

#: Names of the implicit first parameter of a method.
IMPLICIT_FIRST_PARAMS = frozenset({"self", "cls"})
#: Decorators of test fixtures, whose parameters are other fixtures injected by name.
FIXTURE_DECORATORS = frozenset(
    {"pytest.fixture", "pytest_asyncio.fixture", "pytest_asyncio.plugin.fixture"}
)


def _params(params: cst.Parameters) -> Iterator[tuple[str, cst.Param]]:
    """Every parameter in order, with its display name (`*args`, `**kwargs`)."""
    for p in (*params.posonly_params, *params.params):
        yield p.name.value, p
    if isinstance(params.star_arg, cst.Param):
        yield f"*{params.star_arg.name.value}", params.star_arg
    for p in params.kwonly_params:
        yield p.name.value, p
    if params.star_kwarg is not None:
        yield f"**{params.star_kwarg.name.value}", params.star_kwarg


class AsyncDefMissingAnnotation(CodeRule):
    """
    ## What it does
    Flags an `async def` with a parameter that has no annotation, or with no return
    annotation. `*args` and `**kwargs` count as parameters; `self` / `cls` as the first
    parameter of a method defined directly in a class body do not. Nested `async def`s are
    checked too. The finding is reported once per function, at its name, and lists what is
    missing.

    pytest tests (`async def test_...`) and fixtures (`@pytest.fixture`,
    `@pytest_asyncio.fixture`) are not checked: pytest injects their parameters by name,
    and nothing reads their annotations.

    ## Why is this bad?
    FastAPI reads parameter annotations to decide what is a path, query or body parameter
    and what to inject, and the return annotation documents (and with `response_model`
    omitted, defines) the response. Unannotated async code also hides forgotten `await`s
    from type checkers: an unannotated coroutine result is silently `Any`.

    ## Example
    ```python
    async def get_user(user_id, session):
        return await session.get(User, user_id)
    ```

    ## Use instead
    ```python
    from sqlalchemy.ext.asyncio import AsyncSession
    from uuid import UUID

    async def get_user(user_id: UUID, session: AsyncSession) -> User | None:
        return await session.get(User, user_id)
    ```
    """

    code = "TYP001"
    name = "async-def-missing-annotation"
    message = "`async def` lacks parameter or return annotations"
    valid = (
        # Tests and fixtures: pytest injects their parameters by name.
        Valid("""
            import pytest_asyncio

            @pytest_asyncio.fixture
            async def client(app):
                yield app

            async def test_create_user(client, session):
                assert await client.post("/users")
            """),
        Valid("""
            async def get(user_id: int) -> dict[str, int]:
                return {}
            """),
        Valid("""
            class Repo:
                async def get(self, user_id: int) -> None:
                    pass
            """),
        Valid("""
            class Repo:
                @classmethod
                async def make(cls, *args: int, **kw: str) -> None:
                    pass
            """),
        # Sync functions are out of scope.
        Valid("""
            def get(user_id):
                return user_id
            """),
        # Strings and docstrings mentioning async defs.
        Valid('''
            """async def f(x): pass"""
            async def main() -> None:
                s = "async def g(y):"
            '''),
        Valid("""
            async def ping() -> None:
                pass
            """),
    )
    invalid = (
        Invalid(
            """
            async def get_user(user_id):
                return user_id
            """,
            line=1,
            count=1,
        ),
        Invalid(
            """
            async def ping(x: int):
                pass
            """,
            line=1,
        ),
        # `self` outside a class is an ordinary parameter.
        Invalid(
            """
            async def handler(self) -> None:
                pass
            """,
            line=1,
        ),
        Invalid(
            """
            async def f(*args, **kwargs) -> None:
                pass
            """,
            line=1,
        ),
        # Reported at the name, after decorators.
        Invalid(
            """
            @router.get('/users/{user_id}')
            async def read_user(user_id: int, db=Depends(get_db)):
                return await db.get(user_id)
            """,
            line=2,
        ),
        # Nested async function inside an annotated one.
        Invalid(
            """
            async def outer() -> None:
                async def inner(x):
                    return x
                await inner(1)
            """,
            line=2,
            count=1,
        ),
        Invalid(
            """
            class Service:
                async def run(self, job, /, *, retries: int = 3) -> None:
                    pass
            """,
            line=2,
        ),
    )

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is None or self._is_test(node):
            return
        self.site()
        params = list(_params(node.params))
        positional = node.params.posonly_params or node.params.params
        if (
            positional
            and positional[0].name.value in IMPLICIT_FIRST_PARAMS
            and self._is_method(node)
        ):
            params = params[1:]
        missing = [name for name, p in params if p.annotation is None]
        if node.returns is None:
            missing.append("return")
        if missing:
            self.report(
                node.name,
                f"`async def {node.name.value}` lacks annotations for: {', '.join(missing)}",
            )

    def _is_test(self, node: cst.FunctionDef) -> bool:
        """A pytest test (`test_*`) or fixture: pytest injects its parameters by name."""
        if node.name.value.startswith("test_"):
            return True
        for deco in node.decorators:
            target = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
            if self.facts.resolve(target) in FIXTURE_DECORATORS:
                return True
        return False

    def _is_method(self, node: cst.FunctionDef) -> bool:
        stack = self.ancestors  # [..., ClassDef, IndentedBlock, FunctionDef]
        return len(stack) >= 3 and isinstance(stack[-3], cst.ClassDef)
