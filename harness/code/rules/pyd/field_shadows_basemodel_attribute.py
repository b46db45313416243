from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from harness.code.facts import ClassInfo
from harness.code.matchers import CONFIG_DICT_CALLS, class_statements, is_classvar_annotation
from harness.code.models import effective_config
from harness.code.subjects import PydanticModelRule
from harness.registry import Invalid, Valid

#: Public attributes of Pydantic 2's `BaseModel` outside the `model_` namespace: the v1
#: methods kept as deprecated aliases, and `register` (from `ABCMeta`). Hardcoded from
#: Pydantic 2.x so rules never import pydantic. `fields` is absent: v2 has no such attribute.
BASEMODEL_ATTRIBUTES = frozenset(
    {
        "construct",
        "copy",
        "dict",
        "from_orm",
        "json",
        "parse_file",
        "parse_obj",
        "parse_raw",
        "schema",
        "schema_json",
        "update_forward_refs",
        "validate",
        "register",
    }
)
#: `BaseModel` attributes in the `model_` namespace: shadowing them breaks the model even when
#: `protected_namespaces` is relaxed.
MODEL_NAMESPACE_ATTRIBUTES = frozenset(
    {
        "model_computed_fields",
        "model_construct",
        "model_copy",
        "model_dump",
        "model_dump_json",
        "model_extra",
        "model_fields",
        "model_fields_set",
        "model_json_schema",
        "model_parametrized_name",
        "model_post_init",
        "model_rebuild",
        "model_validate",
        "model_validate_json",
        "model_validate_strings",
    }
)
#: The namespace Pydantic 2 reserves for `BaseModel` methods.
MODEL_NAMESPACE = "model_"
#: A `model_config` field annotation (`model_config: ConfigDict = ...`) is the config itself.
MODEL_CONFIG_TARGET = m.Name("model_config")


class FieldShadowsBasemodelAttribute(PydanticModelRule):
    """
    ## What it does
    Flags a field of a Pydantic model whose name shadows a `BaseModel` attribute: `schema`,
    `json`, `dict`, `copy`, `validate`, `construct`, `parse_obj`, `parse_raw`, `parse_file`,
    `from_orm`, `schema_json`, `update_forward_refs`, `register`, or any name starting with
    `model_` (the namespace Pydantic 2 reserves for its own methods; Pydantic before 2.10
    warns on every such field, later versions on the existing methods). A `model_` field that
    is not an existing method (`model_name`) is allowed when the model sets
    `protected_namespaces` in its config.

    An annotated `model_config` is flagged only when its value is not a config
    (`ConfigDict(...)` or a dict literal): then it is a field that replaces the config.

    Fragments: in code that imports nothing ("the rest is unchanged"), `BaseModel` and
    `ConfigDict` resolve to the library's names when neither the unit nor its project binds
    them; a name the code binds to something else never does.

    ## Why is this bad?
    The field replaces the method on instances: `item.json` is now a string, so
    `item.json()` or library code calling `model_dump` / `copy` breaks in confusing ways.
    Pydantic warns ("Field name "schema" shadows an attribute in parent BaseModel") or, for
    `model_dump`-like names, refuses to build the class.

    ## Example
    ```python
    from pydantic import BaseModel

    class Dataset(BaseModel):
        schema: str
        json: dict[str, str]
        model_name: str
    ```

    ## Use instead
    ```python
    from pydantic import BaseModel, Field

    class Dataset(BaseModel):
        schema_name: str = Field(alias="schema")
        payload: dict[str, str] = Field(alias="json")
        llm_model_name: str
    ```
    """

    code = "PYD007"
    name = "field-shadows-basemodel-attribute"
    message = "Field name shadows a Pydantic `BaseModel` attribute; rename it and use an alias"
    valid = (
        Valid("""
            from pydantic import BaseModel, ConfigDict, Field

            class Dataset(BaseModel):
                model_config = ConfigDict(frozen=True)
                schema_name: str = Field(alias='schema')
                fields: list[str]
            """),
        Valid("""
            from typing import ClassVar
            from pydantic import BaseModel, ConfigDict

            class A(BaseModel):
                model_config: ClassVar[ConfigDict] = ConfigDict(extra='forbid')

            class B(BaseModel):
                model_config: ConfigDict = {'frozen': True}
            """),
        # Not Pydantic models.
        Valid("""
            from dataclasses import dataclass

            @dataclass
            class Dataset:
                schema: str
                json: dict

            class Plain:
                model_name: str
            """),
        Valid("""
            from pydantic import BaseModel, ConfigDict

            class Llm(BaseModel):
                model_config = ConfigDict(protected_namespaces=())
                model_name: str
            """),
        # Methods and private attributes are not fields.
        Valid('''
            from pydantic import BaseModel

            class Report(BaseModel):
                """Has a schema: str field? No."""
                _json: str = ""

                def summary(self) -> str:
                    return ''
            '''),
    )
    invalid = (
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            class Item(BaseModel):
                schema: str
            """,
            line=2,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class Dataset(BaseModel):
                schema: str
            """,
            line=4,
        ),
        Invalid(
            """
            from pydantic import BaseModel as BM

            class Base(BM):
                pass

            class Item(Base):
                json: dict[str, str]
                copy: bool = False
            """,
            count=2,
        ),
        Invalid(
            """
            import pydantic

            class Run(pydantic.BaseModel):
                model_name: str
                model_version: int
            """,
            count=2,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class Settings(BaseModel):
                model_config: str = 'x'
            """,
            line=4,
        ),
        Invalid(
            """
            from pydantic import BaseModel, ConfigDict

            class Llm(BaseModel):
                model_config = ConfigDict(protected_namespaces=())
                model_name: str
                model_dump: str
            """,
            line=6,
            count=1,
        ),
        Invalid(
            """
            from sqlmodel import SQLModel, Field

            class Doc(SQLModel, table=True):
                id: int | None = Field(default=None, primary_key=True)
                validate: bool
            """,
            line=5,
        ),
    )

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        namespaced_ok: bool | None = None
        for stmt in class_statements(node):
            if not isinstance(stmt, cst.AnnAssign) or not isinstance(stmt.target, cst.Name):
                continue
            name = stmt.target.value
            if m.matches(stmt.target, MODEL_CONFIG_TARGET):
                if not self._is_config_value(stmt.value):
                    self.report(stmt, "`model_config` is a field here; assign it `ConfigDict(...)`")
                continue
            if is_classvar_annotation(stmt.annotation.annotation, self.facts):
                continue
            if name in BASEMODEL_ATTRIBUTES or name in MODEL_NAMESPACE_ATTRIBUTES:
                self.report(
                    stmt,
                    f"Field `{name}` shadows a Pydantic `BaseModel` attribute;"
                    " rename it and use an alias",
                )
            elif name.startswith(MODEL_NAMESPACE):
                if namespaced_ok is None:
                    config = effective_config(info, self.facts)
                    namespaced_ok = "protected_namespaces" in config
                if not namespaced_ok:
                    self.report(
                        stmt,
                        f"Field `{name}` is in Pydantic's reserved `model_` namespace;"
                        " rename it and use an alias",
                    )

    def _is_config_value(self, value: cst.BaseExpression | None) -> bool:
        if isinstance(value, cst.Dict):
            return True
        return isinstance(value, cst.Call) and self.facts.resolve(value.func) in CONFIG_DICT_CALLS
