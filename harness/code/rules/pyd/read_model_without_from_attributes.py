from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from harness.code.facts import ClassInfo
from harness.code.matchers import TRUE_LITERAL
from harness.code.models import (
    effective_config,
    external_bases,
    has_opaque_config,
    is_read_model,
)
from harness.code.subjects import PydanticModelRule
from harness.registry import Invalid, Valid

#: Roots a read model may derive from for this rule to know its whole config. Others are
#: skipped: `SQLModel` turns `from_attributes` on by default, `RootModel`s and generic
#: containers (`Page[T]`) wrap other models and are built from dicts, and a base imported
#: from elsewhere may set the config itself.
PLAIN_MODEL_ROOTS = frozenset({"pydantic.BaseModel", "pydantic.main.BaseModel", "abc.ABC"})


class ReadModelWithoutFromAttributes(PydanticModelRule):
    """
    ## What it does
    Flags a read (response) model that does not set `from_attributes=True` in its own
    `model_config` or an inherited one. A read model is a Pydantic model whose name ends with
    one of `rules.read_model_suffixes` (`Read`, `Out`, `Response`, `Public`, `InDB`,
    `Detail`) or that is used as a FastAPI `response_model=`, and whose name does not end
    with an input-model suffix (`rules.input_model_suffixes`: `Create`, `Update`, ...).

    Every read model is checked, not only those visibly built from ORM objects: response
    models are where ORM rows end up. A model with the v1 `orm_mode = True` instead is
    flagged too (Pydantic v2 ignores it). Models deriving from `SQLModel` (on by default),
    `RootModel` or `Generic[T]` (containers such as `Page[UserRead]`, built from dicts), or a
    base imported from another module (which may set it) are skipped.

    ## Why is this bad?
    Without `from_attributes`, `UserRead.model_validate(orm_user)` and FastAPI's response
    serialization of an ORM object fail with a validation error ("Input should be a valid
    dictionary or instance of UserRead"), usually only at runtime on the first request.

    ## Example
    ```python
    from pydantic import BaseModel, EmailStr

    class UserRead(BaseModel):
        id: int
        email: EmailStr
    ```

    ## Use instead
    ```python
    from pydantic import BaseModel, ConfigDict, EmailStr

    class UserRead(BaseModel):
        model_config = ConfigDict(from_attributes=True)

        id: int
        email: EmailStr
    ```
    """

    code = "PYD004"
    checks_sqlmodel_tables = False
    name = "read-model-without-from-attributes"
    message = "Read model lacks `from_attributes=True`; it cannot be validated from ORM objects"
    valid = (
        Valid("""
            from pydantic import BaseModel, ConfigDict

            class UserRead(BaseModel):
                model_config = ConfigDict(from_attributes=True)
                id: int
            """),
        # Inherited from a local base, as a dict literal.
        Valid("""
            from pydantic import BaseModel as BM

            class ORMModel(BM):
                model_config = {'from_attributes': True}

            class UserOut(ORMModel):
                id: int
            """),
        # Input models and plain classes / dataclasses with read-model names.
        Valid("""
            from pydantic import BaseModel

            class UserCreate(BaseModel):
                name: str

            class UserUpdate(BaseModel):
                name: str | None = None
            """),
        Valid("""
            from dataclasses import dataclass

            @dataclass
            class UserRead:
                id: int

            class ItemResponse:
                id: int
            """),
        # SQLModel turns it on by default; a base from another module may set it.
        Valid("""
            from sqlmodel import SQLModel

            class HeroPublic(SQLModel):
                id: int
            """),
        Valid("""
            from app.schemas.base import ORMBase

            class UserRead(ORMBase):
                id: int
            """),
        Valid("""
            from typing import Generic, TypeVar
            from pydantic import BaseModel

            T = TypeVar('T')

            class PageResponse(BaseModel, Generic[T]):
                items: list[T]
            """),
        Valid('''
            from pydantic import BaseModel

            class UserRead(BaseModel, from_attributes=True):
                """Without from_attributes this would fail."""
                id: int
            '''),
    )
    invalid = (
        Invalid(
            """
            from pydantic import BaseModel

            class UserRead(BaseModel):
                id: int
            """,
            line=3,
        ),
        Invalid(
            """
            from pydantic import BaseModel, ConfigDict

            class Base(BaseModel):
                model_config = ConfigDict(str_strip_whitespace=True)

            class UserOut(Base):
                id: int
            """,
            line=6,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class UserRead(BaseModel):
                id: int

                class Config:
                    orm_mode = True
            """,
            line=3,
        ),
        Invalid(
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            class Profile(BaseModel):
                bio: str

            router = APIRouter()

            @router.get('/me', response_model=Profile)
            async def me() -> Profile:
                return Profile(bio='')
            """,
            line=4,
        ),
        Invalid(
            """
            import pydantic

            class UserInDB(pydantic.BaseModel):
                model_config = pydantic.ConfigDict(from_attributes=False)
                id: int
            """,
            line=3,
        ),
    )

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        if not is_read_model(info, self.facts, self.settings):
            return
        if not external_bases(info, self.facts) <= PLAIN_MODEL_ROOTS:
            return
        if has_opaque_config(info, self.facts):
            return
        config = effective_config(info, self.facts)
        value = config.get("from_attributes")
        if value is not None and m.matches(value, TRUE_LITERAL):
            return
        orm_mode = config.get("orm_mode")
        if orm_mode is not None and m.matches(orm_mode, TRUE_LITERAL):
            message = (
                f"Read model `{info.name}` uses v1 `orm_mode`;"
                " set `model_config = ConfigDict(from_attributes=True)`"
            )
        else:
            message = (
                f"Read model `{info.name}` lacks `from_attributes=True`;"
                " it cannot be validated from ORM objects"
            )
        self.report(node.name, message)
