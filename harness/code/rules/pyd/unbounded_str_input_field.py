from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassInfo, Facts
from harness.code.matchers import keyword_arg, positional_args, split_optional, unwrap_annotated
from harness.code.models import (
    ModelField,
    annotation_metadata,
    effective_config,
    field_keyword,
    inherited_fields,
    is_input_model,
    model_fields,
)
from harness.code.subjects import PydanticModelRule
from harness.registry import Invalid, Valid

#: `constr(...)`, the v1-style constrained string type.
CONSTR_CALLS = frozenset({"pydantic.constr", "pydantic.types.constr", "constr"})
#: `Annotated` metadata that can bound a string's length.
STRING_CONSTRAINTS_CALLS = frozenset(
    {"pydantic.StringConstraints", "pydantic.types.StringConstraints", "StringConstraints"}
)
MAX_LEN_CALLS = frozenset({"annotated_types.MaxLen", "MaxLen"})
LEN_CALLS = frozenset({"annotated_types.Len", "Len"})
#: Config keys bounding every `str` field of a model.
STR_MAX_LENGTH_KEYS = ("str_max_length", "max_anystr_length")


class UnboundedStrInputField(PydanticModelRule):
    """
    ## What it does
    Flags a `str` field without a maximum length in an input model: a Pydantic model whose
    name ends with one of `rules.input_model_suffixes` (`Create`, `Update`, `Patch`, `In`,
    `Input`, `Request`, `Payload`). A length bound is any of `Field(max_length=...)`,
    `constr(max_length=...)`, `Annotated[str, Field(max_length=...)]`,
    `Annotated[str, StringConstraints(max_length=...)]`, `annotated_types.MaxLen` / `Len`,
    or `str_max_length` in the model config.

    Fields inherited from a local base model count too; they are reported on the input
    model's class line. `EmailStr`, `Literal[...]`, enums and other non-`str` types are fine.

    Fragments: in code that imports nothing ("the rest is unchanged"), `BaseModel` and `Field`
    resolve to the library's names when neither the unit nor its project binds them; a name the
    code binds to something else never does.

    ## Why is this bad?
    An unbounded string lets any client send megabytes into a name field: it is stored,
    indexed, logged and echoed back, and on most databases it fails late at the `VARCHAR`
    limit with a 500 instead of a 422. A `max_length` also documents the limit in the
    OpenAPI schema.

    ## Example
    ```python
    from pydantic import BaseModel

    class UserCreate(BaseModel):
        name: str
        bio: str | None = None
    ```

    ## Use instead
    ```python
    from pydantic import BaseModel, Field

    class UserCreate(BaseModel):
        name: str = Field(min_length=1, max_length=100)
        bio: str | None = Field(default=None, max_length=2000)
    ```
    """

    code = "PYD006"
    name = "unbounded-str-input-field"
    message = "Input model `str` field has no `max_length`"
    valid = (
        # A name bound to something else is never read as the library's.
        Valid(
            """
            from attrs import define as BaseModel

            class UserCreate(BaseModel):
                name: str
            """
        ),
        Valid("""
            from typing import Annotated, Literal
            from pydantic import BaseModel, EmailStr, Field, StringConstraints, constr

            class UserCreate(BaseModel):
                name: str = Field(max_length=100)
                email: EmailStr
                role: Literal['admin', 'user']
                code: constr(max_length=8)
                slug: Annotated[str, StringConstraints(max_length=40, pattern='^[a-z-]+$')]
                bio: Annotated[str, Field(max_length=500)] | None = None
            """),
        # Not an input model, or not a Pydantic model.
        Valid("""
            from pydantic import BaseModel

            class UserRead(BaseModel):
                name: str

            class UserBase(BaseModel):
                name: str
            """),
        Valid("""
            from dataclasses import dataclass

            @dataclass
            class UserCreate:
                name: str
            """),
        # Bounded by config, in a local base.
        Valid("""
            from pydantic import BaseModel, ConfigDict

            class Strict(BaseModel):
                model_config = ConfigDict(str_max_length=255)

            class ItemCreate(Strict):
                title: str
            """),
        Valid('''
            from pydantic import BaseModel, Field

            class NoteIn(BaseModel):
                """text: str"""
                tags: list[int]
                text: str | None = Field(None, max_length=10)
            '''),
    )
    invalid = (
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            class UserCreate(BaseModel):
                name: str
            """,
            line=2,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class UserCreate(BaseModel):
                name: str
            """,
            line=4,
        ),
        Invalid(
            """
            from typing import Optional
            from pydantic import BaseModel as BM, Field

            class UserUpdate(BM):
                name: Optional[str] = Field(None, min_length=1)
            """,
            line=5,
        ),
        Invalid(
            """
            from pydantic import BaseModel, constr

            class LoginRequest(BaseModel):
                username: constr(min_length=3)
                password: str
            """,
            count=2,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class ItemBase(BaseModel):
                title: str

            class ItemCreate(ItemBase):
                pass
            """,
            line=6,
        ),
        Invalid(
            """
            from typing import Annotated
            from pydantic import BaseModel, Field

            class CommentPayload(BaseModel):
                body: Annotated[str, Field(min_length=1)]
            """,
            line=5,
        ),
    )

    def selects(self, node: cst.ClassDef, info: ClassInfo) -> bool:
        return is_input_model(info, self.settings)

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        config = effective_config(info, self.facts)
        if any(key in config for key in STR_MAX_LENGTH_KEYS):
            return
        own = [f for f in model_fields(node, self.facts) if self._unbounded(f, self.facts)]
        for field in own:
            self.report(
                field.node,
                f"`{field.name}` is a `str` without `max_length` in input model `{info.name}`",
            )
        inherited = [f.name for f, base in inherited_fields(info) if self._unbounded(f, base.facts)]
        if inherited:
            names = ", ".join(f"`{n}`" for n in inherited)
            self.report(
                node.name,
                f"Input model `{info.name}` inherits `str` fields without `max_length`: {names}",
            )

    def _unbounded(self, field: ModelField, facts: Facts) -> bool:
        """Whether a field is an unbounded `str`, read with its declaring class's facts."""
        members, _ = split_optional(field.annotation, facts)
        if len(members) != 1:
            return False
        inner, _ = unwrap_annotated(members[0], facts)
        if isinstance(inner, cst.Call) and facts.resolve(inner.func) in CONSTR_CALLS:
            return keyword_arg(inner, "max_length") is None
        if facts.resolve(inner) not in ("str", "builtins.str"):
            return False
        if field_keyword(field, facts, "max_length") is not None:
            return False
        metadata = annotation_metadata(field.annotation, facts)
        return not any(self._bounds_length(meta, facts) for meta in metadata)

    def _bounds_length(self, meta: cst.BaseExpression, facts: Facts) -> bool:
        if not isinstance(meta, cst.Call):
            return False
        callee = facts.resolve(meta.func)
        if callee in STRING_CONSTRAINTS_CALLS:
            return keyword_arg(meta, "max_length") is not None
        if callee in MAX_LEN_CALLS:
            return True
        if callee in LEN_CALLS:
            has_max = len(list(positional_args(meta))) >= 2
            return has_max or keyword_arg(meta, "max_length") is not None
        return False
