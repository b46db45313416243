from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from harness.code.facts import ClassInfo
from harness.code.matchers import class_statements
from harness.code.models import is_pydantic_v1_namespace
from harness.code.subjects import PydanticModelRule
from harness.registry import Example

#: A nested `class Config:` (the Pydantic v1 way to configure a model).
V1_CONFIG_CLASS = m.ClassDef(name=m.Name("Config"))


class PydanticV1ConfigClass(PydanticModelRule):
    """
    ## What it does
    Flags a nested `class Config:` inside a Pydantic model.

    ## Why is this bad?
    `class Config` is the Pydantic v1 way to configure a model. Pydantic v2 still reads it
    but warns that it is deprecated, and it will be removed; several of its keys were renamed
    (`orm_mode` is now `from_attributes`), so generated v1-style config is often silently
    ignored. Models deriving from `pydantic.v1.BaseModel` (v1 on purpose) are not flagged.

    ## Example
    ```python
    class UserRead(BaseModel):
        id: int

        class Config:
            from_attributes = True
    ```

    ## Use instead
    ```python
    class UserRead(BaseModel):
        model_config = ConfigDict(from_attributes=True)

        id: int
    ```
    """

    code = "PYD001"
    name = "pydantic-v1-config-class"
    message = "Nested `class Config` is Pydantic v1 style; use `model_config = ConfigDict(...)`"
    valid = (
        "from pydantic import BaseModel, ConfigDict\n\n"
        "class User(BaseModel):\n    model_config = ConfigDict(frozen=True)\n    name: str\n",
        # Not a Pydantic model: a plain class may nest whatever it likes.
        "class Settings:\n    class Config:\n        env_file = '.env'\n",
        "from dataclasses import dataclass\n\n"
        "@dataclass\nclass Point:\n    x: int\n\n    class Config:\n        frozen = True\n",
        # v1 on purpose, through the compatibility namespace.
        "from pydantic.v1 import BaseModel\n\n"
        "class User(BaseModel):\n    class Config:\n        orm_mode = True\n",
        'from pydantic import BaseModel\n\nclass User(BaseModel):\n    """Not `class Config:`."""\n'
        "    name: str\n",
        # A nested class with another name.
        "from pydantic import BaseModel\n\n"
        "class User(BaseModel):\n    class Meta:\n        table = 'users'\n    name: str\n",
    )
    invalid = (
        Example(
            "from pydantic import BaseModel\n\n"
            "class User(BaseModel):\n    name: str\n\n    class Config:\n        orm_mode = True\n",
            line=6,
        ),
        Example(
            "from pydantic import BaseModel as BM\n\n"
            "class User(BM):\n    class Config:\n        extra = 'forbid'\n",
            line=4,
        ),
        Example(
            "import pydantic\n\nclass Base(pydantic.BaseModel):\n    pass\n\n"
            "class UserRead(Base):\n    id: int\n"
            "    class Config:\n        from_attributes = True\n",
            line=8,
        ),
        Example(
            "from sqlmodel import SQLModel, Field\n\n"
            "class Hero(SQLModel, table=True):\n    id: int | None = Field(default=None)\n"
            "    class Config:\n        arbitrary_types_allowed = True\n",
            line=5,
        ),
        Example(
            "from pydantic_settings import BaseSettings\n\n"
            "class Settings(BaseSettings):\n    db_url: str\n    class Config:\n"
            "        env_file = '.env'\n",
            line=5,
        ),
    )

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        for stmt in class_statements(node):
            if isinstance(stmt, cst.ClassDef) and m.matches(stmt, V1_CONFIG_CLASS):
                if is_pydantic_v1_namespace(info, self.facts):
                    return
                self.report(stmt)
