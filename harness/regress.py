"""The regression gate: a run's aggregates against golden baselines.

DeepDiff finds which numbers moved; a one-sided test with a margin decides whether a move is
a regression, so one unlucky sample does not fail a pull request.

Both runs answer the same cases, and cases differ in difficulty, so the test compares within
cases: a one-sided Cochran-Mantel-Haenszel test stratified by case. It is exact (the
convolution of each case's hypergeometric distribution) for small counts, by Mantel and
Fleiss's rule, and the CMH normal approximation above. A baseline recorded without
per-case counts falls back to the unpaired two-proportion test (Fisher's exact test for
small counts, the z-test above). `benchmarks/bench_gate.py` measures both.

A regression, per template x model, is any of:
- a rule's violation rate rose by more than `margin` and the rise is significant (the test
  above), Holm-Bonferroni corrected over every comparison of the check (`gate.correction`);
- the pass rate fell by more than `margin`, significant in the same way;
- a rule that never fired in the baseline now fires in more than `margin` of the samples,
  significant at `alpha` without the correction.
The same tests in the other direction report improvements. With few samples nothing is
significant: gate on 3 or more samples per case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from deepdiff import DeepDiff

from harness.config import GateConfig
from harness.golden import CellBaseline, TemplateBaseline
from harness.stats import one_sided_two_proportion_test, stratified_one_sided


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
    simulated: tuple[str, ...] = ()  # model aliases that are simulated, not real models
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


@dataclass(frozen=True, slots=True)
class _Test:
    template: str
    model: str
    metric: str
    worse_when_higher: bool
    base_x: int
    base_n: int
    cur_x: int
    cur_n: int
    # Per case: (baseline x, baseline n, current x, current n); empty: no pairing known.
    strata: tuple[tuple[int, int, int, int], ...] = ()

    @property
    def rates(self) -> tuple[float, float]:
        return self.base_x / self.base_n, self.cur_x / self.cur_n

    def p_value(self) -> float:
        b, c = self.rates
        if self.strata:
            if c > b:
                return stratified_one_sided([(cx, cn, bx, bn) for bx, bn, cx, cn in self.strata])
            return stratified_one_sided(list(self.strata))
        if c > b:
            return one_sided_two_proportion_test(self.cur_x, self.cur_n, self.base_x, self.base_n)
        return one_sided_two_proportion_test(self.base_x, self.base_n, self.cur_x, self.cur_n)


def _holm(p_values: dict[int, float], alpha: float) -> set[int]:
    """Indices whose hypotheses Holm-Bonferroni rejects at family-wise level alpha."""
    ordered = sorted(p_values.items(), key=lambda kv: kv[1])
    m = len(ordered)
    rejected: set[int] = set()
    for rank, (index, p) in enumerate(ordered):
        if p > alpha / (m - rank):
            break
        rejected.add(index)
    return rejected


def _cell_tests(template: str, model: str, base: CellBaseline, cur: CellBaseline) -> list[_Test]:
    """The metrics DeepDiff says moved, as proportion tests."""
    keys = {"passes", "n_scored", "rules"}
    diff = DeepDiff(base.model_dump(include=keys), cur.model_dump(include=keys))
    if not diff:
        return []
    paired = sorted(set(base.cases) & set(cur.cases))
    tests = [
        _Test(
            template,
            model,
            "pass-rate",
            False,
            base.passes,
            base.n_scored,
            cur.passes,
            cur.n_scored,
            tuple(
                (
                    base.cases[k].passes,
                    base.cases[k].n_scored,
                    cur.cases[k].passes,
                    cur.cases[k].n_scored,
                )
                for k in paired
            ),
        )
    ]
    touched = {
        path.split("[")[2].strip("'] ")
        for path in diff.affected_paths
        if path.startswith("root['rules']") and path.count("[") >= 2
    }
    for code in sorted(touched):
        b, c = base.rules.get(code), cur.rules.get(code)
        if c is None:
            continue  # no longer applicable: nothing to compare
        bx, bn = (b.violations, b.applicable) if b is not None else (0, base.n_scored)
        strata = []
        for k in paired:
            cr = cur.cases[k].rules.get(code)
            if cr is None:
                continue  # not applicable in this case now
            br = base.cases[k].rules.get(code)
            kb = (br.violations, br.applicable) if br is not None else (0, base.cases[k].n_scored)
            strata.append((*kb, cr.violations, cr.applicable))
        test = _Test(template, model, code, True, bx, bn, c.violations, c.applicable, tuple(strata))
        tests.append(test)
    return [t for t in tests if t.base_n and t.cur_n and t.rates[0] != t.rates[1]]


def _classify(tests: list[_Test], gate: GateConfig) -> dict[tuple[str, str], list[Change]]:
    p_values = {i: t.p_value() for i, t in enumerate(tests)}
    big = {i for i, t in enumerate(tests) if abs(t.rates[1] - t.rates[0]) > gate.margin}
    family = {i: p for i, p in p_values.items() if i in big}
    if gate.correction == "holm":
        significant = _holm(family, gate.alpha)
    else:
        significant = {i for i, p in family.items() if p < gate.alpha}
    out: dict[tuple[str, str], list[Change]] = {}
    for i, t in enumerate(tests):
        b, c = t.rates
        p = p_values[i]
        worse = (c > b) == t.worse_when_higher
        new_rule = t.metric != "pass-rate" and t.base_x == 0 and c > b
        if i in significant:
            kind = Kind.REGRESSION if worse else Kind.IMPROVEMENT
            reason = f"{'worse' if worse else 'better'} by {abs(c - b):.0%} (p={p:.4f})"
        elif new_rule and i in big and p < gate.alpha:
            # A defect class the baseline never showed is not diluted by the correction.
            kind = Kind.REGRESSION
            reason = f"now fires in {c:.0%} of samples, never before (p={p:.4f})"
        else:
            kind = Kind.NOISE
            why = [] if i in big else [f"|delta| {abs(c - b):.0%} <= margin {gate.margin:.0%}"]
            if i in big:
                why.append(f"p={p:.4f} not significant after {gate.correction} correction")
            reason = "; ".join(why)
        change = Change(t.template, t.model, t.metric, b, c, t.base_n, t.cur_n, p, kind, reason)
        out.setdefault((t.template, t.model), []).append(change)
    return out


def compare_cell(
    template: str, model: str, base: CellBaseline, cur: CellBaseline, gate: GateConfig
) -> CellVerdict:
    """One cell on its own (its own family for the correction)."""
    if cur.n_scored == 0:
        return CellVerdict(
            template, model, "no-verdict", note=f"no scored samples ({cur.errors} errors)"
        )
    changes = _classify(_cell_tests(template, model, base, cur), gate)
    return CellVerdict(template, model, "compared", tuple(changes.get((template, model), ())))


def compare(
    baselines: Mapping[str, TemplateBaseline],
    current: Mapping[str, Mapping[str, CellBaseline]],
    gate: GateConfig,
) -> list[CellVerdict]:
    """Compare the current cells (template -> model alias -> cell) with golden.

    Every comparison of the check is one family for the multiple-testing correction.
    """
    pending: list[tuple[str, str, str, str]] = []  # (template, model, status, note)
    tests: list[_Test] = []
    for template in sorted(current):
        base_t = baselines.get(template)
        for model, cur in sorted(current[template].items()):
            if base_t is None:
                pending.append((template, model, "new-template", ""))
            elif model not in base_t.models:
                pending.append((template, model, "new-model", ""))
            elif cur.n_scored == 0:
                note = f"no scored samples ({cur.errors} errors)"
                pending.append((template, model, "no-verdict", note))
            else:
                pending.append((template, model, "compared", ""))
                tests.extend(_cell_tests(template, model, base_t.models[model], cur))
    changes = _classify(tests, gate)
    return [
        CellVerdict(t, m, status, tuple(changes.get((t, m), ())), note)
        for t, m, status, note in pending
    ]
