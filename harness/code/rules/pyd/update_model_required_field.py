from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassInfo, Facts
from harness.code.matchers import is_optional_annotation
from harness.code.models import (
    ModelField,
    field_has_default,
    has_name_suffix,
    inherited_fields,
    model_fields,
)
from harness.code.subjects import PydanticModelRule
from harness.registry import Invalid, Valid

#: Name suffixes of partial-update (PATCH) models.
UPDATE_MODEL_SUFFIXES = ("Update", "Patch")


class UpdateModelRequiredField(PydanticModelRule):
    """
    ## What it does
    Flags a field of an update model (a Pydantic model whose name ends with `Update` or
    `Patch`) that is not optional with a default. Both count: a field with no default is
    required (`name: str | None` still must be sent), and a field whose type does not admit
    `None` (`name: str = "x"`, `active: bool = True`) cannot express "leave unchanged".
    Fields inherited from a local base model count too and are reported on the class line
    (`class UserUpdate(UserBase): pass` inherits every required field of `UserBase`).

    Fragments: in code that imports nothing ("the rest is unchanged"), `BaseModel`, `Field` and
    `Optional` resolve to the library's names when neither the unit nor its project binds them;
    a name the code binds to something else never does.

    ## Why is this bad?
    A partial update should accept any subset of fields. A required field makes every PATCH
    resend it (or fail with 422); a non-optional default silently overwrites the stored value
    unless the handler remembers `exclude_unset=True`.

    ## Example
    ```python
    from pydantic import BaseModel

    class UserUpdate(BaseModel):
        name: str
        is_active: bool = True
    ```

    ## Use instead
    ```python
    from pydantic import BaseModel

    class UserUpdate(BaseModel):
        name: str | None = None
        is_active: bool | None = None
    ```
    """

    code = "PYD008"
    name = "update-model-required-field"
    message = "Update model field is not optional; declare it `X | None = None`"
    valid = (
        Valid("""
            from typing import Optional, Union
            from pydantic import BaseModel, Field

            class UserUpdate(BaseModel):
                name: str | None = None
                age: Optional[int] = Field(None, ge=0)
                bio: Union[str, None] = Field(default=None)
                tags: list[str] | None = Field(default_factory=list)
            """),
        # Not update models, or not Pydantic models.
        Valid("""
            from pydantic import BaseModel

            class UserCreate(BaseModel):
                name: str
            """),
        Valid("""
            from dataclasses import dataclass

            @dataclass
            class UserUpdate:
                name: str
            """),
        # Inherited optional fields; ClassVars and private attributes are no fields.
        Valid('''
            from typing import ClassVar
            from pydantic import BaseModel as BM

            class PatchBase(BM):
                name: str | None = None

            class ItemPatch(PatchBase):
                kind: ClassVar[str] = 'item'
                _seen: bool = False
                """name: str would be wrong."""
            '''),
    )
    invalid = (
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            class UserUpdate(BaseModel):
                name: str
            """,
            line=2,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class UserUpdate(BaseModel):
                name: str
            """,
            line=4,
        ),
        Invalid(
            """
            from typing import Optional
            from pydantic import BaseModel, Field

            class UserUpdate(BaseModel):
                name: Optional[str]
                email: str | None = Field(...)
            """,
            count=2,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class ItemPatch(BaseModel):
                is_active: bool = True
            """,
            line=4,
        ),
        Invalid(
            """
            import pydantic

            class UserBase(pydantic.BaseModel):
                name: str

            class UserUpdate(UserBase):
                pass
            """,
            line=6,
        ),
        Invalid(
            """
            from sqlmodel import SQLModel

            class HeroUpdate(SQLModel):
                name: str | None = None
                age: int = 0
            """,
            line=5,
        ),
    )

    def selects(self, node: cst.ClassDef, info: ClassInfo) -> bool:
        return has_name_suffix(info.name, UPDATE_MODEL_SUFFIXES)

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        for field in model_fields(node, self.facts):
            problem = self._problem(field, self.facts)
            if problem is not None:
                self.report(field.node, f"`{field.name}` {problem} in update model `{info.name}`")
        inherited = [
            f.name for f, base in inherited_fields(info) if self._problem(f, base.facts) is not None
        ]
        if inherited:
            names = ", ".join(f"`{n}`" for n in inherited)
            self.report(
                node.name,
                f"Update model `{info.name}` inherits fields that are not optional: {names}",
            )

    def _problem(self, field: ModelField, facts: Facts) -> str | None:
        """What is wrong with a field, read with the facts of the class declaring it."""
        optional = is_optional_annotation(field.annotation, facts)
        default = field_has_default(field, facts)
        if optional and default:
            return None
        if optional:
            return "has no default (add `= None`)"
        if default:
            return "does not admit None (use `X | None = None`)"
        return "is required (use `X | None = None`)"
