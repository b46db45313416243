from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from harness.code.rule import CodeRule
from harness.registry import Example

#: Names of the implicit first parameter of a method.
IMPLICIT_FIRST_PARAMS = frozenset({"self", "cls"})


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
    async def get_user(user_id: UUID, session: AsyncSession) -> User | None:
        return await session.get(User, user_id)
    ```
    """

    code = "TYP001"
    name = "async-def-missing-annotation"
    message = "`async def` lacks parameter or return annotations"
    valid = (
        "async def get(user_id: int) -> dict[str, int]:\n    return {}\n",
        "class Repo:\n    async def get(self, user_id: int) -> None:\n        pass\n",
        "class Repo:\n    @classmethod\n    async def make(cls, *args: int, **kw: str) -> None:\n"
        "        pass\n",
        # Sync functions are out of scope.
        "def get(user_id):\n    return user_id\n",
        # Strings and docstrings mentioning async defs.
        '"""async def f(x): pass"""\nasync def main() -> None:\n    s = "async def g(y):"\n',
        "async def ping() -> None:\n    pass\n",
    )
    invalid = (
        Example("async def get_user(user_id):\n    return user_id\n", line=1, count=1),
        Example("async def ping(x: int):\n    pass\n", line=1),
        # `self` outside a class is an ordinary parameter.
        Example("async def handler(self) -> None:\n    pass\n", line=1),
        Example("async def f(*args, **kwargs) -> None:\n    pass\n", line=1),
        # Reported at the name, after decorators.
        Example(
            "@router.get('/users/{user_id}')\n"
            "async def read_user(user_id: int, db=Depends(get_db)):\n"
            "    return await db.get(user_id)\n",
            line=2,
        ),
        # Nested async function inside an annotated one.
        Example(
            "async def outer() -> None:\n    async def inner(x):\n        return x\n"
            "    await inner(1)\n",
            line=2,
            count=1,
        ),
        Example(
            "class Service:\n    async def run(self, job, /, *, retries: int = 3) -> None:\n"
            "        pass\n",
            line=2,
        ),
    )

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is None:
            return
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

    def _is_method(self, node: cst.FunctionDef) -> bool:
        stack = self.ancestors  # [..., ClassDef, IndentedBlock, FunctionDef]
        return len(stack) >= 3 and isinstance(stack[-3], cst.ClassDef)
