from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from harness.code.known import (
    V1_BASES,
    V1_CLASS_METHODS,
    V1_DISTINCT_KEYWORDS,
    V1_DISTINCT_METHODS,
    V1_FIELD_CALLS,
    V1_FIELD_KEYWORDS,
    V1_FUNCTIONS,
    V1_INSTANCE_METHODS,
    V1_VALIDATOR_DECORATORS,
)
from harness.code.matchers import name_tail
from harness.code.models import (
    class_defines,
    is_pydantic_v1_namespace,
    model_defines,
    model_name,
    pydantic_model,
)
from harness.code.receivers import UNBOUND, imports_schema_module, receiver
from harness.code.rule import CodeRule
from harness.registry import Invalid, Valid

if TYPE_CHECKING:
    from harness.code.context import UnitContext


class PydanticV1Api(CodeRule):
    """
    ## What it does
    Flags Pydantic v1 API:
    - `@validator` / `@root_validator` imported from `pydantic` (any alias);
    - `pydantic.BaseSettings` and `pydantic.generics.GenericModel` as a base;
    - `parse_obj_as()`, `parse_raw_as()`, `schema_of()` and `schema_json_of()`;
    - the v1 keywords `regex=`, `min_items=`, `max_items=`, `unique_items=`,
      `allow_mutation=` and `const=` of `pydantic.Field(...)`, `constr(...)` and
      `conlist(...)` (not of `sqlmodel.Field`);
    - v1 methods called on a receiver known to be a Pydantic model: `.dict()`, `.json()`,
      `.copy()`, `.parse_obj()`, `.parse_raw()`, `.parse_file()`, `.from_orm()`,
      `.update_forward_refs()`, `.construct()`, `.schema()`, `.schema_json()`,
      `.validate()`.

    These method names are common on other objects (`dict.copy()`, `response.json()`), so a
    call is only flagged when its receiver is known to be a model:
    - a class name of a Pydantic model defined in the unit, or a name imported and used as
      `response_model=` (`UserRead.from_orm(user)`); for class methods, also a model of
      another file reached through its module (`schemas.UserRead.from_orm(user)`);
    - `self` / `cls` in a method of a Pydantic model;
    - a parameter or local variable of the enclosing function annotated with such a model
      (`payload: UserCreate`, `user: User | None`), or assigned from its constructor or a
      `model_validate`-like call (`user = User(...)`). The model may be defined in another
      file of the project (`task: schemas.TaskCreate`). A name the function also binds to
      anything else (also as a loop, comprehension or lambda variable) is not known;
      attributes (`self.user.dict()`) and module-level variables are not tracked;
    - a parameter annotated with a class of a module named `schemas` or `schema` that the
      project does not define (`user: schemas.UserCreate`, FastAPI's convention: a guess
      from the module name);
    - any receiver, for what only Pydantic has: `.parse_obj()`, `.parse_raw()`,
      `.parse_file()`, `.from_orm()`, `.update_forward_refs()`, `.schema_json()`, and
      `.dict()` / `.json()` with `exclude_unset=`, `exclude_none=`, `exclude_defaults=` or
      `by_alias=`, `.copy(update=...)`.

    A method the model defines itself is not flagged, nor is code deriving from
    `pydantic.v1.BaseModel` or importing from `pydantic.v1` (v1 on purpose).

    Fragments: in code that imports nothing ("the rest is unchanged"), `BaseModel`, `validator`
    and `root_validator` resolve to the library's names when neither the unit nor its project
    binds them; a name the code binds to something else never does.

    ## Why is this bad?
    These are deprecated in Pydantic v2: they emit warnings and will be removed, and some
    behave differently (`@validator` runs in a different mode than `@field_validator`,
    `.copy(update=...)` does not validate). Generated code should use the v2 API.

    ## Example
    ```python
    from pydantic import BaseModel, validator

    class UserCreate(BaseModel):
        name: str

        @validator("name")
        def strip(cls, v):
            return v.strip()


    def create(payload: UserCreate) -> User:
        return User(**payload.dict())
    ```

    ## Use instead
    ```python
    from pydantic import BaseModel, field_validator

    class UserCreate(BaseModel):
        name: str

        @field_validator("name")
        @classmethod
        def strip(cls, v: str) -> str:
            return v.strip()


    def create(payload: UserCreate) -> User:
        return User(**payload.model_dump())
    ```
    """

    code = "PYD003"
    name = "pydantic-v1-api"
    message = "Pydantic v1 API; use the Pydantic v2 equivalent"
    valid = (
        # A name bound to something else is never read as the library's.
        Valid(
            """
            from myapp.checks import validator

            class User:
                @validator("name")
                def strip(cls, v):
                    return v.strip()
            """
        ),
        Valid("""
            from pydantic import BaseModel, field_validator

            class User(BaseModel):
                name: str

                @field_validator('name')
                @classmethod
                def strip(cls, v: str) -> str:
                    return v.strip()
            """),
        # Same method names on objects that are not models.
        Valid("""
            import requests

            def fetch(url: str, headers: dict) -> dict:
                h = headers.copy()
                return requests.get(url, headers=h).json()
            """),
        Valid("""
            from pydantic import BaseModel

            class User(BaseModel):
                name: str

            def dump(user: User) -> dict:
                data = user.model_dump()
                return data.copy()
            """),
        # The name is rebound to a dict before `.copy()`, or by a comprehension.
        Valid("""
            from pydantic import BaseModel

            class User(BaseModel):
                name: str

            def f(user: User, rows: list[dict]) -> list:
                return [user.copy() for user in rows]
            """),
        Valid("""
            from pydantic import BaseModel

            class User(BaseModel):
                name: str

            def f(user: User, rows: list[dict]) -> list:
                return sorted(rows, key=lambda user: user.copy())
            """),
        Valid("""
            from pydantic import BaseModel

            class User(BaseModel):
                name: str

            def f(user: User) -> dict:
                user = {'name': user.name}
                return user.copy()
            """),
        # A dataclass with the same shape, and a model defining its own `dict` method.
        Valid("""
            from dataclasses import dataclass

            @dataclass
            class User:
                name: str

                @classmethod
                def parse_obj(cls, d):
                    return cls(**d)

            def f(d: dict) -> User:
                return User.parse_obj(d)
            """),
        Valid("""
            from pydantic import BaseModel

            class Tags(BaseModel):
                items: list[str]

                def dict(self) -> dict:
                    return {'items': self.items}

            def f(t: Tags) -> dict:
                return t.dict()
            """),
        # v1 on purpose; and a docstring mentioning the pattern.
        Valid("""
            from pydantic.v1 import BaseModel, validator

            class User(BaseModel):
                name: str

                @validator('name')
                def strip(cls, v):
                    return v
            """),
        Valid('''
            def f(user):
                """Call user.dict() or User.parse_obj(d)."""
                return user
            '''),
        # v2: pydantic-settings and TypeAdapter.
        Valid("""
            from pydantic import TypeAdapter
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                database_url: str

            users = TypeAdapter(list[User]).validate_python([])
            """),
        # Unknown receivers with generic method names and keywords: not Pydantic's.
        Valid("""
            def f(response, data, df, request):
                return response.json(), data.copy(), df.copy(deep=True), request.GET.dict()
            """),
        # v2 keywords; SQLModel's own `Field(regex=...)` maps it itself.
        Valid("""
            from pydantic import BaseModel, Field
            from sqlmodel import Field as SQLField

            class UserCreate(BaseModel):
                username: str = Field(pattern="^[a-z]+$", max_length=20)
                tags: list[str] = Field(min_length=1)

            code = SQLField(regex="^[A-Z]{3}$")
            """),
    )
    invalid = (
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            class User(BaseModel):
                name: str

                @validator("name")
                def strip(cls, v):
                    return v.strip()
            """,
            line=4,
        ),
        Invalid(
            """
            from pydantic import BaseModel, validator

            class User(BaseModel):
                name: str

                @validator('name')
                def strip(cls, v):
                    return v.strip()
            """,
            line=6,
        ),
        Invalid(
            """
            import pydantic as pd

            class User(pd.BaseModel):
                name: str

                @pd.root_validator(pre=True)
                def check(cls, values):
                    return values
            """,
            line=6,
        ),
        Invalid(
            """
            from pydantic import BaseModel as BM

            class Base(BM):
                pass

            class UserCreate(Base):
                name: str

            def create(payload: UserCreate) -> dict:
                return dict(**payload.dict())
            """,
            line=10,
        ),
        Invalid(
            """
            from fastapi import APIRouter
            from app.schemas import UserRead

            router = APIRouter()

            @router.get('/users/{id}', response_model=UserRead)
            async def get(id: int):
                user = await load(id)
                return UserRead.from_orm(user)
            """,
            line=9,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class User(BaseModel):
                name: str

                def public(self) -> dict:
                    return self.dict(exclude={'name'})

            def load(raw: str) -> User:
                user = User.parse_raw(raw)
                return user.copy(update={'name': 'x'})
            """,
            count=3,
        ),
        Invalid(
            """
            from typing import Optional
            from sqlmodel import SQLModel, Field

            class Hero(SQLModel, table=True):
                id: Optional[int] = Field(default=None)

            def update(hero: Optional[Hero], data: dict) -> None:
                for key, value in hero.dict().items():
                    pass
            """,
            line=8,
        ),
        Invalid(
            """
            from typing import List

            from pydantic import BaseSettings, parse_obj_as

            class Settings(BaseSettings):
                database_url: str

            def load(rows) -> List[User]:
                return parse_obj_as(List[User], rows)
            """,
            line=5,
        ),
        # A class of the conventional `schemas` module; a v1-only keyword on any receiver.
        Invalid(
            """
            from app import models, schemas

            def create_user(db, user: schemas.UserCreate):
                db_user = models.User(**user.dict())
                db.add(db_user)
                return db_user
            """,
            line=4,
        ),
        Invalid(
            """
            def patch(db_user, changes):
                for key, value in changes.dict(exclude_unset=True).items():
                    setattr(db_user, key, value)
                return UserRead.from_orm(db_user)
            """,
            line=2,
        ),
        Invalid(
            """
            from pydantic import BaseModel, Field, conlist

            class OrderCreate(BaseModel):
                sku: str = Field(..., regex="^[A-Z0-9-]+$", max_length=32)
                items: conlist(str, min_items=1)
            """,
            line=4,
        ),
    )

    def __init__(self, ctx: UnitContext) -> None:
        super().__init__(ctx)
        # Receivers can only be known when the unit has a model: else skip scope tracking.
        facts = ctx.facts
        self._track = (
            any(info.is_pydantic for info in facts.classes.values())
            or any(facts.imported(name) for name in facts.response_models)
            or facts.project is not None
            or imports_schema_module(facts)
        )

    # --- decorators and scopes ---------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if pydantic_model(node, self.facts) is not None:
            self.site()
        for base in node.bases:
            target = base.value.value if isinstance(base.value, cst.Subscript) else base.value
            new = V1_BASES.get(self.facts.resolve(target) or "")
            if new is not None:
                self.report(base, f"`{name_tail(target)}` is Pydantic v1 API; use {new}")

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for deco in node.decorators:
            target = deco.decorator
            if isinstance(target, cst.Call):
                target = target.func
            qualified = self.facts.resolve(target)
            new = V1_VALIDATOR_DECORATORS.get(qualified) if qualified is not None else None
            if new is not None:
                old = qualified.rsplit(".", 1)[-1]  # type: ignore[union-attr]
                self.report(deco, f"`@{old}` is Pydantic v1 API; use `@{new}`")

    # --- calls ---------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        # Hot path: plain isinstance checks, no matcher, before any lookup.
        func = node.func
        if any(a.keyword is not None and a.keyword.value in V1_FIELD_KEYWORDS for a in node.args):
            self._field_keywords(node)
        if name_tail(func) in _V1_FUNCTION_NAMES:
            new = V1_FUNCTIONS.get(self.facts.resolve(func) or "")
            if new is not None:
                self.report(node, f"`{name_tail(func)}()` is Pydantic v1 API; use {new}")
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if not self._track:
            if method in V1_INSTANCE_METHODS:
                self._flag_distinct(node, method)
            return
        if method not in V1_INSTANCE_METHODS:
            return
        if isinstance(func.value, cst.Attribute):
            # `schemas.UserRead.from_orm(x)`: a class of the project, reached by its module.
            model = model_name(func.value, self.facts) if method in V1_CLASS_METHODS else None
            if model is not None:
                self._flag(node, method, model)
            else:
                self._flag_distinct(node, method)
            return
        if not isinstance(func.value, cst.Name):
            return
        bound = receiver(func.value.value, self.facts, self.ancestors)
        if bound is UNBOUND:
            model = model_name(func.value, self.facts) if method in V1_CLASS_METHODS else None
            if model is None:
                self._flag_distinct(node, method)
                return
        elif bound is None:
            self._flag_distinct(node, method)
            return
        else:
            model, is_class = bound  # type: ignore[misc]
            if is_class and method not in V1_CLASS_METHODS:
                return
        self._flag(node, method, model)

    def _flag_distinct(self, node: cst.Call, method: str) -> None:
        """A receiver not known to be a model: flagged on a v1-only method or keyword."""
        keywords = V1_DISTINCT_KEYWORDS.get(method, frozenset())
        if method not in V1_DISTINCT_METHODS and not any(
            arg.keyword is not None and arg.keyword.value in keywords for arg in node.args
        ):
            return
        facts = self.facts
        if any(name.startswith("pydantic.v1") for name in facts.imports.values()):
            return
        # A class of the unit that is not a model, or that defines the method itself.
        func = node.func
        receiver = facts.resolve(func.value) if isinstance(func, cst.Attribute) else None
        if (receiver is not None and facts.class_of(receiver) is not None) or any(
            class_defines(info.node, method) for info in facts.classes.values()
        ):
            return
        self.report(node, f"`.{method}()` is Pydantic v1 API; use `.{V1_INSTANCE_METHODS[method]}`")

    def _field_keywords(self, node: cst.Call) -> None:
        if self.facts.resolve_call(node) not in V1_FIELD_CALLS:
            return
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in V1_FIELD_KEYWORDS:
                old = arg.keyword.value
                self.report(arg, f"`{old}=` is Pydantic v1 API; use {V1_FIELD_KEYWORDS[old]}")

    def _flag(self, node: cst.Call, method: str, model: str | None) -> None:
        if model is None or model_defines(model, method, self.facts):
            return
        info = self.facts.class_of(model)
        if info is not None and is_pydantic_v1_namespace(info):
            return
        if info is None and method == "validate":
            return  # a guessed `schemas.X` may be a marshmallow schema: it has `validate`
        self.report(node, f"`.{method}()` is Pydantic v1 API; use `.{V1_INSTANCE_METHODS[method]}`")


_V1_FUNCTION_NAMES = frozenset(name.rsplit(".", 1)[1] for name in V1_FUNCTIONS)
