from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassInfo
from harness.code.models import config_entries, is_pydantic_v1_namespace
from harness.code.subjects import PydanticModelRule
from harness.registry import Example

#: Pydantic v1 config keys and what Pydantic v2 uses instead, as shown to users (None: removed
#: without a direct replacement). `json_encoders` is deprecated in v2 but still honoured, so
#: it is allowed.
V1_CONFIG_KEYS: dict[str, str | None] = {
    "orm_mode": "`from_attributes`",
    "allow_population_by_field_name": "`populate_by_name`",
    "anystr_strip_whitespace": "`str_strip_whitespace`",
    "anystr_lower": "`str_to_lower`",
    "anystr_upper": "`str_to_upper`",
    "max_anystr_length": "`str_max_length`",
    "min_anystr_length": "`str_min_length`",
    "validate_all": "`validate_default`",
    "allow_mutation": "`frozen` (the opposite value)",
    "schema_extra": "`json_schema_extra`",
    "keep_untouched": "`ignored_types`",
    "underscore_attrs_are_private": None,
    "copy_on_model_validation": None,
    "smart_union": None,
    "fields": None,
    "error_msg_templates": None,
    "getter_dict": None,
    "json_loads": None,
    "json_dumps": None,
    "post_init_call": None,
}


class PydanticV1ConfigKey(PydanticModelRule):
    """
    ## What it does
    Flags Pydantic v1 config keys (`orm_mode`, `allow_population_by_field_name`,
    `schema_extra`, `allow_mutation`, `validate_all`, `anystr_*`, `underscore_attrs_are_private`,
    `smart_union`, `fields`, ...) in a model's `model_config = ConfigDict(...)`,
    `model_config = {...}`, class keywords, or a v1 `class Config:` body.

    `json_encoders` is deprecated in v2 but still works, so it is not flagged. Models deriving
    from `pydantic.v1.BaseModel` (v1 on purpose) are not checked.

    ## Why is this bad?
    Pydantic v2 renamed or removed these keys. A renamed key in `ConfigDict(...)` is a
    warning at best and otherwise silently has no effect: `ConfigDict(orm_mode=True)` does not
    enable `from_attributes`, so `UserRead.model_validate(orm_user)` fails at runtime.

    ## Example
    ```python
    class UserRead(BaseModel):
        model_config = ConfigDict(orm_mode=True, allow_population_by_field_name=True)
    ```

    ## Use instead
    ```python
    class UserRead(BaseModel):
        model_config = ConfigDict(from_attributes=True, populate_by_name=True)
    ```
    """

    code = "PYD002"
    name = "pydantic-v1-config-key"
    message = "Pydantic v1 config key; use its Pydantic v2 name"
    valid = (
        "from pydantic import BaseModel, ConfigDict\n\nclass UserRead(BaseModel):\n"
        "    model_config = ConfigDict(from_attributes=True, populate_by_name=True)\n",
        "from pydantic import BaseModel\n\nclass UserRead(BaseModel):\n"
        "    model_config = {'from_attributes': True, 'json_encoders': {}}\n",
        # A plain class (or a non-model `model_config`) is not Pydantic config.
        "class Settings:\n    model_config = dict(orm_mode=True)\n"
        "    class Config:\n        orm_mode = True\n",
        "from pydantic.v1 import BaseModel\n\n"
        "class User(BaseModel):\n    class Config:\n        orm_mode = True\n",
        # A field named like a key is not config.
        "from pydantic import BaseModel\n\nclass Flags(BaseModel):\n    orm_mode: bool = True\n"
        '    """Docs mention orm_mode = True."""\n',
        "from pydantic import BaseModel, ConfigDict\n\nclass Flags(BaseModel):\n"
        "    model_config = ConfigDict(json_encoders={int: str})\n",
    )
    invalid = (
        Example(
            "from pydantic import BaseModel, ConfigDict\n\nclass UserRead(BaseModel):\n"
            "    model_config = ConfigDict(orm_mode=True)\n",
            line=4,
        ),
        Example(
            "from pydantic import BaseModel as BM\n\nclass UserRead(BM):\n"
            "    model_config = {\n        'from_attributes': True,\n"
            "        'allow_population_by_field_name': True,\n    }\n",
            line=6,
            count=1,
        ),
        Example(
            "import pydantic\n\nclass User(pydantic.BaseModel):\n    class Config:\n"
            "        orm_mode = True\n        schema_extra = {'example': {}}\n",
            line=6,
            count=2,
        ),
        Example(
            "from pydantic import BaseModel, ConfigDict\n\nclass Base(BaseModel):\n"
            "    pass\n\nclass User(Base):\n"
            "    model_config = ConfigDict(\n"
            "        frozen=True,\n        validate_all=True,\n    )\n",
            line=9,
        ),
        Example(
            "from pydantic import BaseModel\n\nclass User(BaseModel, allow_mutation=False):\n"
            "    name: str\n",
            line=3,
        ),
    )

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        for entry in config_entries(node, self.facts):
            if entry.key not in V1_CONFIG_KEYS:
                continue
            if is_pydantic_v1_namespace(info, self.facts):
                return
            replacement = V1_CONFIG_KEYS[entry.key]
            if replacement is None:
                message = f"Pydantic v1 config key `{entry.key}` was removed in Pydantic v2"
            else:
                message = f"Pydantic v1 config key `{entry.key}`; use {replacement}"
            self.report(entry.node, message)
