"""Template file schema (pydantic). One YAML file per template; see README "Template format"."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

VarType = Literal["string", "integer", "number", "boolean", "list", "object"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VariableSpec(_Strict):
    type: VarType = "string"
    description: str = ""
    required: bool = True
    default: Any = None


class ExpectedRule(_Strict):
    """A rule the template asks for: its code, its weight and the instruction that asks.
    `blocking`: a violation fails the sample whatever its score."""

    code: str
    weight: float = Field(default=1.0, gt=0)
    instruction: str | None = None
    blocking: bool = False

    @field_validator("code")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()


ProvidedKind = Literal[
    "pydantic-model", "declarative-model", "class", "function", "async-function", "route"
]


class Provided(_Strict):
    """Something the code must provide (task conformance, rule TSK001). `name`, `method`
    and `path` are rendered with the case's variables (`{{ entity }}Create`)."""

    kind: ProvidedKind
    name: str | None = None
    method: str | None = None  # routes: GET, POST, ... (none: any method)
    path: str | None = None  # routes: `/orders/{order_id}` (none: any path)


class Exemption(_Strict):
    """A house rule the template does not want scored, and why (shown in the reports)."""

    code: str
    reason: str = Field(min_length=1)

    @field_validator("code")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()


class Expect(_Strict):
    language: Literal["python"] = "python"
    role: Literal["service", "repository", "router", "model", "schema", "other"] | None = None
    rules: tuple[ExpectedRule, ...] = ()
    provides: tuple[Provided, ...] = ()
    exempt: tuple[Exemption, ...] = ()

    @field_validator("rules", mode="before")
    @classmethod
    def _codes_or_dicts(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"code": item} if isinstance(item, str) else item for item in v]
        return v


class ModelParams(BaseModel):
    """Params sent with every request of this template; extra keys go to litellm as-is."""

    model_config = ConfigDict(extra="allow", frozen=True)
    temperature: float | None = Field(default=0.2, ge=0, le=2)
    max_tokens: int | None = Field(default=2048, gt=0)


class Case(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    vars: dict[str, Any] = Field(default_factory=dict)
    provides: tuple[Provided, ...] = ()  # added to the template's `expect.provides`


class TemplateSpec(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    version: str = "1"
    description: str = ""
    tags: tuple[str, ...] = ()
    variables: dict[str, VariableSpec] = Field(default_factory=dict)
    system: str | None = None
    template: str
    #: Prompty's runtime reading: the rendered `template` is split into messages at role
    #: marker lines (`system:`, `user:`, `assistant:`), which the Jinja body may produce.
    split_roles: bool = False
    params: ModelParams = ModelParams()
    expect: Expect = Expect()
    min_score: float = Field(default=80.0, ge=0, le=100)
    samples: int | None = Field(default=None, ge=1)
    cases: tuple[Case, ...] = Field(min_length=1)

    # Where the spec came from: path and the line/col of each key (not part of the hash).
    _path: str = PrivateAttr(default="<memory>")
    _lines: dict[str, tuple[int, int]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _unique_cases(self) -> TemplateSpec:
        counts = Counter(c.name for c in self.cases)
        dup = sorted(n for n, k in counts.items() if k > 1)
        if dup:
            raise ValueError(f"duplicate case names: {', '.join(dup)}")
        return self

    @property
    def path(self) -> str:
        return self._path

    def line_of(self, key: str) -> tuple[int, int]:
        """(line, col) of a dotted key such as `template` or `cases.0.vars`; (1, 1) if unknown."""
        while key:
            if key in self._lines:
                return self._lines[key]
            key = key.rpartition(".")[0]
        return (1, 1)

    def with_source(self, path: str, lines: dict[str, tuple[int, int]]) -> TemplateSpec:
        self._path = path
        self._lines = lines
        return self

    def content_hash(self) -> str:
        """sha256 of the template's content; any change that affects prompts or scoring."""
        data = self.model_dump(mode="json")
        if not self.split_roles:  # added later: hashes of earlier templates stay the same
            data.pop("split_roles")
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def case(self, name: str) -> Case:
        for c in self.cases:
            if c.name == name:
                return c
        raise KeyError(name)
