from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassInfo
from harness.code.matchers import TYPING_ANY, split_optional, subscript_args, unwrap_annotated
from harness.code.models import model_fields
from harness.code.subjects import PydanticModelRule
from harness.registry import Invalid, Valid

#: Mapping types that say nothing about their values unless parametrised precisely.
MAPPING_TYPES = frozenset(
    {
        "dict",
        "builtins.dict",
        "typing.Dict",
        "typing_extensions.Dict",
        "Dict",
        "typing.Mapping",
        "typing.MutableMapping",
        "collections.abc.Mapping",
        "collections.abc.MutableMapping",
    }
)
#: `pydantic.Json`: a JSON string parsed into whatever it holds.
JSON_TYPES = frozenset({"pydantic.Json", "pydantic.types.Json"})
#: Types any value satisfies.
ANY_TYPES = TYPING_ANY | {"object", "builtins.object"}


class CatchAllDictOrAnyField(PydanticModelRule):
    """
    ## What it does
    Flags a Pydantic model field typed as a catch-all: `Any`, `object`, a bare `dict` /
    `Dict` / `Mapping`, a mapping whose values are `Any` (`dict[str, Any]`), or `Json` /
    `Json[Any]`, also inside `Optional[...]`, `| None` or `Annotated[...]`. Precise mappings
    such as `dict[str, int]` are fine, and so are containers of catch-alls
    (`list[dict[str, Any]]`, not checked). SQLModel table classes are skipped: a JSON column
    is their business.

    Fragments: in code that imports nothing ("the rest is unchanged"), `BaseModel`, `Dict` and
    `Any` resolve to the library's names when neither the unit nor its project binds them; a
    name the code binds to something else never does.

    ## Why is this bad?
    A catch-all field validates nothing: clients can send any shape, the OpenAPI schema
    documents nothing, and every consumer re-parses the value by hand. Most of the time the
    shape is known and deserves its own model.

    ## Example
    ```python
    from pydantic import BaseModel
    from typing import Any

    class OrderCreate(BaseModel):
        shipping: dict[str, Any]
        metadata: dict
    ```

    ## Use instead
    ```python
    from pydantic import BaseModel

    class Address(BaseModel):
        street: str
        city: str


    class OrderCreate(BaseModel):
        shipping: Address
        metadata: dict[str, str]
    ```
    """

    code = "PYD010"
    checks_sqlmodel_tables = False
    name = "catch-all-dict-or-any-field"
    message = "Field accepts any value (`dict` / `Any`); declare a model or a precise type"
    valid = (
        Valid("""
            from pydantic import BaseModel

            class Order(BaseModel):
                counts: dict[str, int]
                tags: list[str]
            """),
        # Not a Pydantic model; a SQLModel table with a JSON column.
        Valid("""
            from typing import Any
            from dataclasses import dataclass

            @dataclass
            class Event:
                payload: dict[str, Any]

            class Plain:
                data: Any
            """),
        Valid("""
            from typing import Any
            from sqlmodel import SQLModel, Field, JSON, Column

            class Event(SQLModel, table=True):
                id: int | None = Field(default=None)
                payload: dict[str, Any] = Field(sa_column=Column(JSON))
            """),
        # ClassVars and private attributes are no fields; a docstring mentions the pattern.
        Valid('''
            from typing import Any, ClassVar
            from pydantic import BaseModel

            class Cfg(BaseModel):
                """extra: dict[str, Any]"""
                registry: ClassVar[dict[str, Any]] = {}
                _cache: dict = {}
            '''),
        Valid("""
            from typing import Any
            from pydantic import BaseModel

            class Nested(BaseModel):
                rows: list[dict[str, Any]]
                scores: dict[str, float] | None = None
            """),
    )
    invalid = (
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            class EventCreate(BaseModel):
                payload: Dict[str, Any]
            """,
            line=2,
        ),
        Invalid(
            """
            from typing import Any
            from pydantic import BaseModel

            class Order(BaseModel):
                shipping: dict[str, Any]
            """,
            line=5,
        ),
        Invalid(
            """
            import typing
            from pydantic import BaseModel as BM

            class Base(BM):
                pass

            class Event(Base):
                data: typing.Any
                meta: dict
            """,
            count=2,
        ),
        Invalid(
            """
            from typing import Any, Dict, Optional
            from pydantic import BaseModel

            class Hook(BaseModel):
                headers: Optional[Dict[str, Any]] = None
                extra: Optional[Any] = None
            """,
            count=2,
        ),
        Invalid(
            """
            from typing import Any
            from pydantic import BaseModel, Json

            class Upload(BaseModel):
                body: Json[Any]
            """,
            line=5,
        ),
        Invalid(
            """
            from typing import Annotated
            from pydantic import BaseModel, Field

            class Item(BaseModel):
                attrs: Annotated[dict, Field(default_factory=dict)]
            """,
            line=5,
        ),
    )

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        for field in model_fields(node, self.facts):
            members, _ = split_optional(field.annotation, self.facts)
            if any(self._catch_all(member) for member in members):
                self.report(
                    field.node,
                    f"`{field.name}` accepts any value (`dict` / `Any`);"
                    " declare a model or a precise type",
                )

    def _catch_all(self, annotation: cst.BaseExpression) -> bool:
        annotation, _ = unwrap_annotated(annotation, self.facts)
        if isinstance(annotation, cst.Subscript):
            origin = self.facts.resolve(annotation.value)
            args = subscript_args(annotation)
            if origin in MAPPING_TYPES:
                return len(args) == 2 and self._is_any(args[1])
            if origin in JSON_TYPES:
                return not args or self._catch_all(args[0])
            return False
        qualified = self.facts.resolve(annotation)
        return qualified in ANY_TYPES or qualified in MAPPING_TYPES or qualified in JSON_TYPES

    def _is_any(self, annotation: cst.BaseExpression) -> bool:
        return self.facts.resolve(unwrap_annotated(annotation, self.facts)[0]) in ANY_TYPES
