"""Golden baselines: one JSON file per template in `golden/`, plus its recorded responses.

Layout (diff-friendly: sorted keys, one file per template):
    golden/<template>.json              TemplateBaseline
    golden/recordings/<template>.jsonl  store export of the responses behind it
Only the writer functions here touch golden/ files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import ConfigError
from harness.scoring import CellAggregate, RunSummary

GOLDEN_SCHEMA_VERSION = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleBaseline(_Frozen):
    violations: int = Field(ge=0)
    applicable: int = Field(ge=0)

    @property
    def rate(self) -> float:
        return self.violations / self.applicable if self.applicable else 0.0


class CaseBaseline(_Frozen):
    """One case of a cell, for the gate's pairing: scored samples, passes, rule counts."""

    n_scored: int = Field(ge=0)
    passes: int = Field(ge=0)
    rules: dict[str, RuleBaseline] = Field(default_factory=dict)


class CellBaseline(_Frozen):
    """Aggregates of one template x model, with the sample counts the gate needs."""

    model: str  # litellm model string
    simulated: bool = False
    n: int = Field(ge=0)
    n_scored: int = Field(ge=0)
    passes: int = Field(ge=0)
    mean_score: float | None = None
    pass_rate: float | None = None
    rules: dict[str, RuleBaseline] = Field(default_factory=dict)
    errors: int = 0
    cases: dict[str, CaseBaseline] = Field(default_factory=dict)  # empty: an older baseline

    @classmethod
    def of(cls, cell: CellAggregate, model_string: str, simulated: bool) -> CellBaseline:
        return cls(
            model=model_string,
            simulated=simulated,
            n=cell.n,
            n_scored=cell.n_scored,
            passes=cell.passes,
            mean_score=None if cell.mean_score is None else round(cell.mean_score, 4),
            pass_rate=None if cell.pass_rate is None else round(cell.pass_rate, 4),
            rules={
                code: RuleBaseline(violations=rc.violations, applicable=rc.applicable)
                for code, rc in sorted(cell.rule_counts.items())
            },
            errors=cell.errors,
            cases={
                name: CaseBaseline(
                    n_scored=c.n_scored,
                    passes=c.passes,
                    rules={
                        code: RuleBaseline(violations=v, applicable=a)
                        for code, (v, a) in c.rules.items()
                    },
                )
                for name, c in sorted(cell.cases.items())
            },
        )


class TemplateBaseline(_Frozen):
    schema_version: int = GOLDEN_SCHEMA_VERSION
    template: str
    template_hash: str
    min_score: float
    samples: int = 1
    models: dict[str, CellBaseline] = Field(default_factory=dict)  # alias -> cell
    recordings: str  # path relative to golden/

    def model_keys(self) -> list[str]:
        return sorted(self.models)


def baseline_path(golden_dir: Path, template: str) -> Path:
    return golden_dir / f"{template}.json"


def recordings_path(golden_dir: Path, template: str) -> Path:
    return golden_dir / "recordings" / f"{template}.jsonl"


def read_baselines(golden_dir: Path) -> dict[str, TemplateBaseline]:
    """Every baseline in golden/, by template id. Malformed files are config errors."""
    out: dict[str, TemplateBaseline] = {}
    if not golden_dir.is_dir():
        return out
    for path in sorted(golden_dir.glob("*.json")):
        try:
            base = TemplateBaseline.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValidationError, ValueError) as exc:
            raise ConfigError(
                f"invalid golden baseline: {str(exc).splitlines()[0]}",
                path=str(path),
                hint="re-create it with `harness golden update`",
            ) from None
        out[base.template] = base
    return out


def cells_of(
    summary: RunSummary, model_strings: Mapping[str, str]
) -> dict[str, dict[str, CellBaseline]]:
    """A run's aggregates in baseline form: template -> model alias -> cell."""
    out: dict[str, dict[str, CellBaseline]] = {}
    for cell in summary.cells:
        out.setdefault(cell.template, {})[cell.model] = CellBaseline.of(
            cell,
            model_strings.get(cell.model, cell.model),
            summary.simulated.get(cell.model, False),
        )
    return out


def build_baselines(
    summary: RunSummary,
    *,
    template_hashes: Mapping[str, str],
    min_scores: Mapping[str, float],
    model_strings: Mapping[str, str],
    samples: int,
    templates: Iterable[str] | None = None,
) -> list[TemplateBaseline]:
    wanted = set(templates) if templates is not None else None
    return [
        TemplateBaseline(
            template=t,
            template_hash=template_hashes[t],
            min_score=min_scores.get(t, 80.0),
            samples=samples,
            models=dict(sorted(cells.items())),
            recordings=f"recordings/{t}.jsonl",
        )
        for t, cells in sorted(cells_of(summary, model_strings).items())
        if wanted is None or t in wanted
    ]


def write_baseline(golden_dir: Path, baseline: TemplateBaseline) -> Path:
    path = baseline_path(golden_dir, baseline.template)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = baseline.model_dump(mode="json")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
