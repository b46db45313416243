"""Run records: `run.json` (metadata) and `results.jsonl` (one SampleResult per line).

Versioned with SCHEMA_VERSION. Writers append and flush one line per finished sample, so a
killed run loses nothing that had finished.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from harness.findings import Finding

SCHEMA_VERSION = 1

SampleStatus = Literal[
    "scored",  # code parsed and checked
    "no-code",  # reply had no code
    "truncated",  # reply was cut off (unclosed fence, length stop)
    "parse-error",  # code did not parse
    "check-error",  # code could not be checked (a limit, or a checker failure): never a pass
    "nothing-checked",  # no rule found anything to check in the code: never a pass
    "provider-error",  # the model call failed: not scored
    "not-recorded",  # offline and the store has no answer: not scored
]
UNSCORED: frozenset[str] = frozenset({"provider-error", "not-recorded"})


class _Rec(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class UnitRecord(_Rec):
    path: str
    source: str
    first_line: int = 1
    parse_error: str | None = None


class RuleScore(_Rec):
    """One line of a sample's score breakdown: a rule that applied (or was exempted)."""

    code: str
    weight: float
    source: Literal["house", "template", "house+template"]
    outcome: Literal["pass", "fail", "exempt"]
    blocking: bool = False
    instruction: bool = False  # the template links the rule to an instruction
    findings: int = 0  # findings that count for this rule (duplicates merged away)
    merged: tuple[str, ...] = ()  # codes whose findings on the same node count here instead
    note: str | None = None  # an exemption's reason, missing items


class Usage(_Rec):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    latency_ms: float = 0.0
    provider_model: str | None = None
    cached: bool = False


class SampleResult(_Rec):
    schema_version: int = SCHEMA_VERSION
    template: str
    template_hash: str
    case: str
    model: str  # alias
    model_string: str
    simulated: bool = False
    sample: int = 0
    key: str  # request key in the store
    status: SampleStatus
    score: float | None = None  # None when not scored
    passed: bool | None = None
    applicable: tuple[str, ...] = ()
    weights: dict[str, float] = Field(default_factory=dict)
    findings: tuple[Finding, ...] = ()  # `unit` indexes `units`
    breakdown: tuple[RuleScore, ...] = ()  # how the score was made, rule by rule
    lines: int = 0  # lines of generated code (for violations per 100 lines)
    units: tuple[UnitRecord, ...] = ()
    prompt: tuple[dict[str, str], ...] = ()  # rendered messages
    reply: str | None = None
    error: str | None = None
    usage: Usage = Usage()
    detail: str | None = None  # e.g. parse error text, truncation reason

    @property
    def scored(self) -> bool:
        return self.status not in UNSCORED

    @property
    def blocked(self) -> bool:
        """Whether a blocking rule failed: the sample fails whatever its score."""
        return any(b.blocking and b.outcome == "fail" for b in self.breakdown)

    @property
    def cell(self) -> tuple[str, str]:
        return (self.template, self.model)

    def identity(self) -> dict[str, object]:
        """Which sample this is, as reports label it."""
        return {
            "template": self.template,
            "model": self.model,
            "case": self.case,
            "sample": self.sample,
            "status": self.status,
        }


# The results.jsonl line, assembled from fields encoded ahead of time (the checked fields in
# the check worker, the cell's once per cell). Every field goes through the same pydantic
# serializer as `SampleResult.model_dump_json`, so the line equals it; tests hold this.
_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    name: TypeAdapter(info.annotation) for name, info in SampleResult.model_fields.items()
}
_DEFAULTS: dict[str, str] = {}


def encode_fields(**values: Any) -> dict[str, str]:
    """JSON of the given `SampleResult` fields, each validated as the model validates it."""
    out = {}
    for name, value in values.items():
        adapter = _ADAPTERS[name]
        out[name] = adapter.dump_json(adapter.validate_python(value)).decode()
    return out


def sample_line(*parts: Mapping[str, str]) -> str:
    """The JSON line of a `SampleResult` from encoded fields; absent fields take defaults."""
    if not _DEFAULTS:
        for name, info in SampleResult.model_fields.items():
            if not info.is_required():
                default = info.get_default(call_default_factory=True)
                _DEFAULTS.update(encode_fields(**{name: default}))
    merged: dict[str, str] = {}
    for part in parts:
        merged.update(part)
    return (
        "{"
        + ",".join(
            f'"{name}":{merged[name] if name in merged else _DEFAULTS[name]}' for name in _ADAPTERS
        )
        + "}"
    )


class ModelInfo(_Rec):
    alias: str
    model: str
    simulated: bool = False


class RunMeta(_Rec):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    harness_version: str
    git_commit: str | None = None
    started_at: str
    finished_at: str | None = None
    templates: dict[str, str] = Field(default_factory=dict)  # id -> content hash
    min_scores: dict[str, float] = Field(default_factory=dict)
    models: tuple[ModelInfo, ...] = ()
    samples: int = 1
    shard: str | None = None  # "i/N"
    merged_from: tuple[str, ...] = ()
    offline: bool = False
    config: dict[str, object] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)

    @property
    def simulated(self) -> bool:
        return any(m.simulated for m in self.models)


class ResultsWriter:
    """Appends SampleResults to results.jsonl, flushing each line as it is written."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a", encoding="utf-8")

    def write(self, result: SampleResult) -> None:
        self._fh.write(result.model_dump_json() + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_results(path: Path) -> Iterator[SampleResult]:
    """Read results.jsonl; a torn last line (killed writer) is skipped, not fatal."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                yield SampleResult.model_validate_json(line)
            except ValueError:
                continue


def write_meta(run_dir: Path, meta: RunMeta) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / "run.json.tmp"
    tmp.write_text(json.dumps(meta.model_dump(mode="json"), indent=2, sort_keys=True) + "\n")
    tmp.replace(run_dir / "run.json")


def read_meta(run_dir: Path) -> RunMeta:
    return RunMeta.model_validate_json((run_dir / "run.json").read_text())
