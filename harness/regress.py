"""The regression gate: a run's aggregates against golden baselines.

DeepDiff finds which numbers moved; a one-sided two-proportion test with a margin decides
whether a move is a regression, so one unlucky sample does not fail a pull request.

A regression, per template x model, is any of:
- a rule's violation rate rose by more than `margin` and the rise is significant (p < alpha);
- the pass rate fell by more than `margin` and the fall is significant;
- a rule that never fired in the baseline now fires in more than `margin` of the samples.
The same tests in the other direction report improvements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from deepdiff import DeepDiff

from harness.config import GateConfig
from harness.golden import CellBaseline, TemplateBaseline
from harness.scoring import one_sided_two_proportion_test


class Kind(StrEnum):
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    NOISE = "within-noise"


@dataclass(frozen=True, slots=True)
class Change:
    template: str
    model: str
    metric: str  # "pass-rate" or a rule code
    baseline: float
    current: float
    baseline_n: int
    current_n: int
    p_value: float | None
    kind: Kind
    reason: str

    @property
    def delta(self) -> float:
        return self.current - self.baseline


@dataclass(frozen=True, slots=True)
class CellVerdict:
    template: str
    model: str
    status: str  # "compared", "new-template", "new-model", "missing", "no-verdict"
    changes: tuple[Change, ...] = ()
    note: str = ""

    @property
    def regressions(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind is Kind.REGRESSION)

    @property
    def improvements(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind is Kind.IMPROVEMENT)


@dataclass(frozen=True, slots=True)
class GateResult:
    cells: tuple[CellVerdict, ...]
    replayed: tuple[str, ...] = ()  # templates answered from recordings
    rerun: tuple[str, ...] = ()  # templates changed or new, run for real
    requests: int = 0
    model_calls: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def regressions(self) -> list[Change]:
        return [c for cell in self.cells for c in cell.regressions]

    @property
    def improvements(self) -> list[Change]:
        return [c for cell in self.cells for c in cell.improvements]

    @property
    def no_verdict(self) -> list[CellVerdict]:
        return [c for c in self.cells if c.status == "no-verdict"]

    @property
    def exit_code(self) -> int:
        if self.regressions:
            return 1
        if self.no_verdict:
            return 3
        return 0


def _judge(
    metric: str,
    worse_when_higher: bool,
    base_x: int,
    base_n: int,
    cur_x: int,
    cur_n: int,
    gate: GateConfig,
    *,
    template: str,
    model: str,
) -> Change | None:
    if base_n == 0 or cur_n == 0:
        return None
    b, c = base_x / base_n, cur_x / cur_n
    if b == c:
        return None
    higher = c > b
    # p-value for "current rate is higher than baseline" (or lower), one-sided.
    if higher:
        p = one_sided_two_proportion_test(cur_x, cur_n, base_x, base_n)
    else:
        p = one_sided_two_proportion_test(base_x, base_n, cur_x, cur_n)
    worse = higher == worse_when_higher
    big = abs(c - b) > gate.margin
    if metric != "pass-rate" and base_x == 0 and higher and c > gate.margin:
        kind, reason = Kind.REGRESSION, f"now fires in {c:.0%} of samples; never fired before"
    elif big and p < gate.alpha:
        kind = Kind.REGRESSION if worse else Kind.IMPROVEMENT
        reason = f"{'worse' if worse else 'better'} by {abs(c - b):.0%} (p={p:.3f})"
    else:
        kind = Kind.NOISE
        why = [] if big else [f"|delta| {abs(c - b):.0%} <= margin {gate.margin:.0%}"]
        if p >= gate.alpha:
            why.append(f"p={p:.3f} >= alpha {gate.alpha}")
        reason = "; ".join(why)
    return Change(template, model, metric, b, c, base_n, cur_n, p, kind, reason)


def compare_cell(
    template: str, model: str, base: CellBaseline, cur: CellBaseline, gate: GateConfig
) -> CellVerdict:
    if cur.n_scored == 0:
        return CellVerdict(
            template, model, "no-verdict", note=f"no scored samples ({cur.errors} errors)"
        )
    diff = DeepDiff(
        base.model_dump(include={"passes", "n_scored", "rules"}),
        cur.model_dump(include={"passes", "n_scored", "rules"}),
        ignore_order=True,
    )
    changes: list[Change] = []
    if diff:
        change = _judge(
            "pass-rate",
            False,
            base.passes,
            base.n_scored,
            cur.passes,
            cur.n_scored,
            gate,
            template=template,
            model=model,
        )
        if change is not None:
            changes.append(change)
        touched = {
            path.split("[")[2].strip("'] ")
            for path in diff.affected_paths
            if path.startswith("root['rules']") and path.count("[") >= 2
        }
        for code in sorted(touched):
            b = base.rules.get(code)
            c = cur.rules.get(code)
            if c is None:
                continue  # rule no longer applicable: nothing to compare
            bx, bn = (b.violations, b.applicable) if b is not None else (0, base.n_scored)
            change = _judge(
                code, True, bx, bn, c.violations, c.applicable, gate, template=template, model=model
            )
            if change is not None:
                changes.append(change)
    return CellVerdict(template, model, "compared", tuple(changes))


def compare(
    baselines: Mapping[str, TemplateBaseline],
    current: Mapping[str, Mapping[str, CellBaseline]],
    gate: GateConfig,
) -> list[CellVerdict]:
    """Compare the current cells (template -> model alias -> cell) with golden."""
    verdicts: list[CellVerdict] = []
    for template in sorted(current):
        base_t = baselines.get(template)
        for model, cur in sorted(current[template].items()):
            if base_t is None:
                verdicts.append(CellVerdict(template, model, "new-template"))
            elif model not in base_t.models:
                verdicts.append(CellVerdict(template, model, "new-model"))
            else:
                verdicts.append(compare_cell(template, model, base_t.models[model], cur, gate))
    return verdicts
