from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from harness.code.facts import ClassInfo
from harness.code.known import V1_CONFIG_KEYS
from harness.code.matchers import class_attributes, class_statements
from harness.code.models import is_pydantic_v1_namespace
from harness.code.subjects import PydanticModelRule
from harness.registry import Invalid, Valid

#: A nested `class Config:` (the Pydantic v1 way to configure a model).
V1_CONFIG_CLASS = m.ClassDef(name=m.Name("Config"))


class PydanticV1ConfigClass(PydanticModelRule):
    """
    ## What it does
    Flags a nested `class Config:` inside a Pydantic model.

    Fragments: in code that imports nothing ("the rest is unchanged"), `BaseModel` resolve to
    the library's names when neither the unit nor its project binds them; a name the code binds
    to something else never does.

    Overlap: this one finding covers the v1 keys inside the class (`orm_mode`,
    `allow_population_by_field_name`, ...): its message names each with its v2 name, and
    PYD002 does not report them again; PYD004 counts `orm_mode = True` as set.

    ## Why is this bad?
    `class Config` is the Pydantic v1 way to configure a model. Pydantic v2 still reads it
    but warns that it is deprecated, and it will be removed; several of its keys were renamed
    (`orm_mode` is now `from_attributes`), so generated v1-style config is often silently
    ignored. Models deriving from `pydantic.v1.BaseModel` (v1 on purpose) are not flagged.

    ## Example
    ```python
    from pydantic import BaseModel

    class UserRead(BaseModel):
        id: int

        class Config:
            from_attributes = True
    ```

    ## Use instead
    ```python
    from pydantic import BaseModel, ConfigDict

    class UserRead(BaseModel):
        model_config = ConfigDict(from_attributes=True)

        id: int
    ```
    """

    code = "PYD001"
    name = "pydantic-v1-config-class"
    message = "Nested `class Config` is Pydantic v1 style; use `model_config = ConfigDict(...)`"
    valid = (
        # A name bound to something else is never read as the library's.
        Valid(
            """
            from mylib.records import BaseModel

            class User(BaseModel):
                class Config:
                    orm_mode = True
            """
        ),
        Valid("""
            from pydantic import BaseModel, ConfigDict

            class User(BaseModel):
                model_config = ConfigDict(frozen=True)
                name: str
            """),
        # Not a Pydantic model: a plain class may nest whatever it likes.
        Valid("""
            class Settings:
                class Config:
                    env_file = '.env'
            """),
        Valid("""
            from dataclasses import dataclass

            @dataclass
            class Point:
                x: int

                class Config:
                    frozen = True
            """),
        # v1 on purpose, through the compatibility namespace.
        Valid("""
            from pydantic.v1 import BaseModel

            class User(BaseModel):
                class Config:
                    orm_mode = True
            """),
        Valid('''
            from pydantic import BaseModel

            class User(BaseModel):
                """Not `class Config:`."""
                name: str
            '''),
        # A nested class with another name.
        Valid("""
            from pydantic import BaseModel

            class User(BaseModel):
                class Meta:
                    table = 'users'
                name: str
            """),
    )
    invalid = (
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            class User(BaseModel):
                name: str

                class Config:
                    orm_mode = True
            """,
            line=4,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class User(BaseModel):
                name: str

                class Config:
                    orm_mode = True
            """,
            line=6,
        ),
        Invalid(
            """
            from pydantic import BaseModel as BM

            class User(BM):
                class Config:
                    extra = 'forbid'
            """,
            line=4,
        ),
        Invalid(
            """
            import pydantic

            class Base(pydantic.BaseModel):
                pass

            class UserRead(Base):
                id: int
                class Config:
                    from_attributes = True
            """,
            line=8,
        ),
        Invalid(
            """
            from sqlmodel import SQLModel, Field

            class Hero(SQLModel, table=True):
                id: int | None = Field(default=None)
                class Config:
                    arbitrary_types_allowed = True
            """,
            line=5,
        ),
        Invalid(
            """
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                db_url: str
                class Config:
                    env_file = '.env'
            """,
            line=5,
        ),
    )

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        for stmt in class_statements(node):
            if isinstance(stmt, cst.ClassDef) and m.matches(stmt, V1_CONFIG_CLASS):
                if is_pydantic_v1_namespace(info, self.facts):
                    return
                self.report(stmt, _message(stmt))


def _message(config: cst.ClassDef) -> str:
    """The finding's message, naming the v1 keys of the class and their v2 names."""
    renames = []
    for attr in class_attributes(config):
        key = attr.target.value
        if key in V1_CONFIG_KEYS:
            new = V1_CONFIG_KEYS[key]
            renames.append(f"`{key}` → {new}" if new else f"`{key}` (removed)")
    base = "Nested `class Config` is Pydantic v1 style; use `model_config = ConfigDict(...)`"
    return f"{base}; rename {', '.join(renames)}" if renames else base
