from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassInfo
from harness.code.known import V1_CONFIG_KEYS
from harness.code.models import config_entries, is_pydantic_v1_namespace
from harness.code.subjects import PydanticModelRule
from harness.registry import Invalid, Valid


class PydanticV1ConfigKey(PydanticModelRule):
    """
    ## What it does
    Flags Pydantic v1 config keys (`orm_mode`, `allow_population_by_field_name`,
    `schema_extra`, `allow_mutation`, `validate_all`, `anystr_*`, `underscore_attrs_are_private`,
    `smart_union`, `fields`, ...) in a model's `model_config = ConfigDict(...)`,
    `model_config = {...}`, class keywords, or a v1 `class Config:` body.

    `json_encoders` is deprecated in v2 but still works, so it is not flagged. Models deriving
    from `pydantic.v1.BaseModel` (v1 on purpose) are not checked.

    Fragments: in code that imports nothing ("the rest is unchanged"), `BaseModel` resolve to
    the library's names when neither the unit nor its project binds them; a name the code binds
    to something else never does.

    Overlap: keys inside a v1 `class Config:` are not reported here; PYD001 reports the
    class once, and its message names the keys to rename. One habit, one finding.

    ## Why is this bad?
    Pydantic v2 renamed or removed these keys. A renamed key in `ConfigDict(...)` is a
    warning at best and otherwise silently has no effect: `ConfigDict(orm_mode=True)` does not
    enable `from_attributes`, so `UserRead.model_validate(orm_user)` fails at runtime.

    ## Example
    ```python
    from pydantic import BaseModel, ConfigDict

    class UserRead(BaseModel):
        model_config = ConfigDict(orm_mode=True, allow_population_by_field_name=True)
    ```

    ## Use instead
    ```python
    from pydantic import BaseModel, ConfigDict

    class UserRead(BaseModel):
        model_config = ConfigDict(from_attributes=True, populate_by_name=True)
    ```
    """

    code = "PYD002"
    name = "pydantic-v1-config-key"
    message = "Pydantic v1 config key; use its Pydantic v2 name"
    valid = (
        # Keys of a v1 `class Config` are PYD001's one finding.
        Valid("""
            import pydantic

            class User(pydantic.BaseModel):
                class Config:
                    orm_mode = True
                    schema_extra = {'example': {}}
            """),
        Valid("""
            from pydantic import BaseModel, ConfigDict

            class UserRead(BaseModel):
                model_config = ConfigDict(from_attributes=True, populate_by_name=True)
            """),
        Valid("""
            from pydantic import BaseModel

            class UserRead(BaseModel):
                model_config = {'from_attributes': True, 'json_encoders': {}}
            """),
        # A plain class (or a non-model `model_config`) is not Pydantic config.
        Valid("""
            class Settings:
                model_config = dict(orm_mode=True)
                class Config:
                    orm_mode = True
            """),
        Valid("""
            from pydantic.v1 import BaseModel

            class User(BaseModel):
                class Config:
                    orm_mode = True
            """),
        # A field named like a key is not config.
        Valid('''
            from pydantic import BaseModel

            class Flags(BaseModel):
                orm_mode: bool = True
                """Docs mention orm_mode = True."""
            '''),
        Valid("""
            from pydantic import BaseModel, ConfigDict

            class Flags(BaseModel):
                model_config = ConfigDict(json_encoders={int: str})
            """),
    )
    invalid = (
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            class UserRead(BaseModel):
                model_config = ConfigDict(orm_mode=True)
            """,
            line=2,
        ),
        Invalid(
            """
            from pydantic import BaseModel, ConfigDict

            class UserRead(BaseModel):
                model_config = ConfigDict(orm_mode=True)
            """,
            line=4,
        ),
        Invalid(
            """
            from pydantic import BaseModel as BM

            class UserRead(BM):
                model_config = {
                    'from_attributes': True,
                    'allow_population_by_field_name': True,
                }
            """,
            line=6,
            count=1,
        ),
        Invalid(
            """
            from pydantic import BaseModel, ConfigDict

            class Base(BaseModel):
                pass

            class User(Base):
                model_config = ConfigDict(
                    frozen=True,
                    validate_all=True,
                )
            """,
            line=9,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class User(BaseModel, allow_mutation=False):
                name: str
            """,
            line=3,
        ),
    )

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        for entry in config_entries(node, self.facts):
            if entry.key not in V1_CONFIG_KEYS or entry.in_config_class:
                continue  # keys of a v1 `class Config` are PYD001's finding
            if is_pydantic_v1_namespace(info, self.facts):
                return
            replacement = V1_CONFIG_KEYS[entry.key]
            if replacement is None:
                message = f"Pydantic v1 config key `{entry.key}` was removed in Pydantic v2"
            else:
                message = f"Pydantic v1 config key `{entry.key}`; use {replacement}"
            self.report(entry.node, message)
