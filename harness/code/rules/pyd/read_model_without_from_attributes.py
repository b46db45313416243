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
from harness.registry import Example

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
    class UserRead(BaseModel):
        id: int
        email: EmailStr
    ```

    ## Use instead
    ```python
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
        "from pydantic import BaseModel, ConfigDict\n\nclass UserRead(BaseModel):\n"
        "    model_config = ConfigDict(from_attributes=True)\n    id: int\n",
        # Inherited from a local base, as a dict literal.
        "from pydantic import BaseModel as BM\n\nclass ORMModel(BM):\n"
        "    model_config = {'from_attributes': True}\n\nclass UserOut(ORMModel):\n    id: int\n",
        # Input models and plain classes / dataclasses with read-model names.
        "from pydantic import BaseModel\n\nclass UserCreate(BaseModel):\n    name: str\n\n"
        "class UserUpdate(BaseModel):\n    name: str | None = None\n",
        "from dataclasses import dataclass\n\n@dataclass\nclass UserRead:\n    id: int\n\n"
        "class ItemResponse:\n    id: int\n",
        # SQLModel turns it on by default; a base from another module may set it.
        "from sqlmodel import SQLModel\n\nclass HeroPublic(SQLModel):\n    id: int\n",
        "from app.schemas.base import ORMBase\n\nclass UserRead(ORMBase):\n    id: int\n",
        "from typing import Generic, TypeVar\nfrom pydantic import BaseModel\n\n"
        "T = TypeVar('T')\n\nclass PageResponse(BaseModel, Generic[T]):\n    items: list[T]\n",
        "from pydantic import BaseModel\n\nclass UserRead(BaseModel, from_attributes=True):\n"
        '    """Without from_attributes this would fail."""\n    id: int\n',
    )
    invalid = (
        Example(
            "from pydantic import BaseModel\n\nclass UserRead(BaseModel):\n    id: int\n",
            line=3,
        ),
        Example(
            "from pydantic import BaseModel, ConfigDict\n\nclass Base(BaseModel):\n"
            "    model_config = ConfigDict(str_strip_whitespace=True)\n\n"
            "class UserOut(Base):\n    id: int\n",
            line=6,
        ),
        Example(
            "from pydantic import BaseModel\n\nclass UserRead(BaseModel):\n    id: int\n\n"
            "    class Config:\n        orm_mode = True\n",
            line=3,
        ),
        Example(
            "from fastapi import APIRouter\nfrom pydantic import BaseModel\n\n"
            "class Profile(BaseModel):\n    bio: str\n\nrouter = APIRouter()\n\n"
            "@router.get('/me', response_model=Profile)\nasync def me() -> Profile:\n"
            "    return Profile(bio='')\n",
            line=4,
        ),
        Example(
            "import pydantic\n\nclass UserInDB(pydantic.BaseModel):\n"
            "    model_config = pydantic.ConfigDict(from_attributes=False)\n    id: int\n",
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
