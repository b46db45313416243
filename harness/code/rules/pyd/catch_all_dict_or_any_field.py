from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassInfo
from harness.code.matchers import TYPING_ANY, split_optional, subscript_args, unwrap_annotated
from harness.code.models import model_fields
from harness.code.subjects import PydanticModelRule
from harness.registry import Example

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

    ## Why is this bad?
    A catch-all field validates nothing: clients can send any shape, the OpenAPI schema
    documents nothing, and every consumer re-parses the value by hand. Most of the time the
    shape is known and deserves its own model.

    ## Example
    ```python
    class OrderCreate(BaseModel):
        shipping: dict[str, Any]
        metadata: dict
    ```

    ## Use instead
    ```python
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
        "from pydantic import BaseModel\n\nclass Order(BaseModel):\n"
        "    counts: dict[str, int]\n    tags: list[str]\n",
        # Not a Pydantic model; a SQLModel table with a JSON column.
        "from typing import Any\nfrom dataclasses import dataclass\n\n@dataclass\n"
        "class Event:\n    payload: dict[str, Any]\n\nclass Plain:\n    data: Any\n",
        "from typing import Any\nfrom sqlmodel import SQLModel, Field, JSON, Column\n\n"
        "class Event(SQLModel, table=True):\n    id: int | None = Field(default=None)\n"
        "    payload: dict[str, Any] = Field(sa_column=Column(JSON))\n",
        # ClassVars and private attributes are no fields; a docstring mentions the pattern.
        "from typing import Any, ClassVar\nfrom pydantic import BaseModel\n\n"
        'class Cfg(BaseModel):\n    """extra: dict[str, Any]"""\n'
        "    registry: ClassVar[dict[str, Any]] = {}\n    _cache: dict = {}\n",
        "from typing import Any\nfrom pydantic import BaseModel\n\nclass Nested(BaseModel):\n"
        "    rows: list[dict[str, Any]]\n    scores: dict[str, float] | None = None\n",
    )
    invalid = (
        Example(
            "from typing import Any\nfrom pydantic import BaseModel\n\nclass Order(BaseModel):\n"
            "    shipping: dict[str, Any]\n",
            line=5,
        ),
        Example(
            "import typing\nfrom pydantic import BaseModel as BM\n\nclass Base(BM):\n"
            "    pass\n\nclass Event(Base):\n    data: typing.Any\n    meta: dict\n",
            count=2,
        ),
        Example(
            "from typing import Any, Dict, Optional\nfrom pydantic import BaseModel\n\n"
            "class Hook(BaseModel):\n    headers: Optional[Dict[str, Any]] = None\n"
            "    extra: Optional[Any] = None\n",
            count=2,
        ),
        Example(
            "from typing import Any\nfrom pydantic import BaseModel, Json\n\n"
            "class Upload(BaseModel):\n    body: Json[Any]\n",
            line=5,
        ),
        Example(
            "from typing import Annotated\nfrom pydantic import BaseModel, Field\n\n"
            "class Item(BaseModel):\n    attrs: Annotated[dict, Field(default_factory=dict)]\n",
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
