"""Scores: one sample's findings -> a score; a stream of SampleResults -> aggregates.

A sample either has no usable code (no code, truncated, parse error: score 0, status kept
apart) or was parsed and checked: score = 100 x (weight of rules passed) / (weight of rules
applicable). Provider errors and offline misses are not scored at all.

Ruff counts as one extra rule, `ruff` (weight 1, or the weight a template gives `ruff`), which
fails when ruff reports any error-level finding: codes `F...` (pyflakes: undefined names,
unused imports...) and `E9...` (syntax/IO errors). Other ruff findings are kept for the reports
but do not change the score. The `ruff` rule is applicable whenever ruff ran on the sample.
"""

from __future__ import annotations

import dataclasses
import json
import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from harness.findings import Finding
from harness.record import UNSCORED, SampleResult
from harness.templates.spec import Expect

if TYPE_CHECKING:
    from harness.code.engine import CheckResult  # libcst: only where code is checked

ScoreStatus = Literal["scored", "no-code", "truncated", "parse-error", "check-error"]
STATUSES: tuple[str, ...] = (
    "scored",
    "no-code",
    "truncated",
    "parse-error",
    "check-error",
    "provider-error",
    "not-recorded",
)
RUFF_RULE = "ruff"
RUFF_PREFIX = "ruff:"
#: Ruff codes that make the `ruff` rule fail (pyflakes and syntax errors).
RUFF_ERROR_PREFIXES: tuple[str, ...] = ("F", "E9")
DEFAULT_MIN_SCORE = 80.0


# --------------------------------------------------------------------------- one sample


@dataclass(frozen=True, slots=True)
class SampleScore:
    status: ScoreStatus
    score: float
    passed: bool
    applicable: tuple[str, ...] = ()
    weights: dict[str, float] = field(default_factory=dict)
    findings: tuple[tuple[int, Finding], ...] = ()  # (unit index, finding)
    detail: str | None = None

    @property
    def failed_rules(self) -> tuple[str, ...]:
        return tuple(c for c in self.applicable if rule_violated(c, self._codes))

    @property
    def _codes(self) -> frozenset[str]:
        return frozenset(f.code for _, f in self.findings)


def is_ruff_error(code: str) -> bool:
    """Whether a `ruff:XXX` finding code makes the `ruff` rule fail."""
    return code.startswith(RUFF_PREFIX) and code[len(RUFF_PREFIX) :].startswith(RUFF_ERROR_PREFIXES)


def rule_violated(rule: str, finding_codes: Iterable[str]) -> bool:
    """Whether a sample with these finding codes violates `rule` (a rule code or `ruff`)."""
    if rule == RUFF_RULE:
        return any(is_ruff_error(c) for c in finding_codes)
    return rule in set(finding_codes)


def score_sample(
    results: Sequence[CheckResult],
    ruff_findings: Sequence[Sequence[Finding]] = (),
    expect: Expect | None = None,
    min_score: float = DEFAULT_MIN_SCORE,
    *,
    outcome: str = "code",
    detail: str | None = None,
) -> SampleScore:
    """Score one sample from the engine's results (one per unit) and ruff's (one per unit).

    `outcome` is the extraction outcome: anything but "code" scores 0 with that status.
    `ruff_findings` empty means ruff did not run, so the `ruff` rule is not applicable.
    With `expect.rules`, only those codes count (with their weights); otherwise every rule the
    engine applied counts with weight 1.
    """
    if outcome != "code" or not results:
        status = outcome if outcome in ("no-code", "truncated") else "no-code"
        return SampleScore(status, 0.0, False, detail=detail)  # type: ignore[arg-type]

    findings: list[tuple[int, Finding]] = []
    for i, res in enumerate(results):
        findings.extend((i, f) for f in res.findings)
    for i, unit_findings in enumerate(ruff_findings):
        findings.extend((i, f) for f in unit_findings)
    findings.sort(key=lambda p: (p[0], p[1].line, p[1].col, p[1].code))

    failed = [r for r in results if r.status == "check-error"]
    if failed:  # never a pass: the unit could not be checked
        res = failed[0]
        text = f"{res.unit.path}: {res.problem or 'could not be checked'}"
        return SampleScore("check-error", 0.0, False, findings=tuple(findings), detail=text)

    broken = [(i, r) for i, r in enumerate(results) if r.status == "parse-error"]
    if broken:
        i, res = broken[0]
        pe = res.parse_error
        where = f"{res.unit.path}:{pe.line}:{pe.col}" if pe else res.unit.path
        text = f"{where}: {pe.message}" if pe else f"{where}: does not parse"
        return SampleScore("parse-error", 0.0, False, findings=tuple(findings), detail=text)

    engine_applicable = {c for r in results for c in r.applicable}
    ruff_ran = len(ruff_findings) > 0
    expected = expect.rules if expect is not None else ()
    weights: dict[str, float] = {}
    if expected:
        for rule in expected:
            code = RUFF_RULE if rule.code.lower().startswith(RUFF_RULE) else rule.code
            if (code == RUFF_RULE and ruff_ran) or code in engine_applicable:
                weights[code] = weights.get(code, 0.0) + rule.weight
    else:
        weights = dict.fromkeys(sorted(engine_applicable), 1.0)
    if ruff_ran and RUFF_RULE not in weights:
        weights[RUFF_RULE] = 1.0

    codes = {f.code for _, f in findings}
    total = sum(weights.values())
    passed_weight = sum(w for c, w in weights.items() if not rule_violated(c, codes))
    score = 100.0 if total == 0 else round(100.0 * passed_weight / total, 6)
    return SampleScore(
        "scored",
        score,
        score >= min_score,
        applicable=tuple(weights),
        weights=weights,
        findings=tuple(findings),
        detail=detail,
    )


# --------------------------------------------------------------------------- statistics


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when n is 0."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k: chance that at least one of k samples drawn from n (c correct) passes."""
    k = min(k, n)
    if k <= 0:
        return 0.0
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k: chance that all of k samples drawn from n (c correct) pass: C(c,k) / C(n,k)."""
    k = min(k, n)
    if k <= 0:
        return 0.0
    return math.comb(c, k) / math.comb(n, k)


def _phi_upper(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def fisher_one_sided(x1: int, n1: int, x2: int, n2: int) -> float:
    """Fisher's exact test, p-value for H1: p1 > p2 (P[X1 >= x1] under the hypergeometric)."""
    s, total = x1 + x2, n1 + n2
    denom = math.comb(total, n1)
    num = sum(math.comb(s, k) * math.comb(total - s, n1 - k) for k in range(x1, min(s, n1) + 1))
    return min(1.0, num / denom)


def one_sided_two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> float:
    """p-value for H1: the first proportion is greater than the second (p1 > p2).

    For the gate: pass (baseline passes, baseline n, candidate passes, candidate n); a small
    p-value says the candidate got worse. Pooled-variance normal approximation, or Fisher's
    exact test when any expected cell count is below 5. Returns 1.0 when either n is 0.
    """
    if n1 <= 0 or n2 <= 0:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    expected = (n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
    if min(expected) < 5:
        return fisher_one_sided(x1, n1, x2, n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    return _phi_upper((x1 / n1 - x2 / n2) / se)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of unsorted values; None when empty."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


# --------------------------------------------------------------------------- aggregates


@dataclass(frozen=True, slots=True)
class RuleCount:
    violations: int
    applicable: int

    @property
    def rate(self) -> float:
        return self.violations / self.applicable if self.applicable else 0.0


@dataclass(frozen=True, kw_only=True)
class Stats:
    """Statistics over a set of samples (one cell, or one model over all templates)."""

    n: int  # every sample, errors included
    n_scored: int  # samples with a score (extraction failures count, score 0)
    status_counts: dict[str, int]
    mean_score: float | None
    passes: int
    pass_rate: float | None
    wilson_low: float
    wilson_high: float
    rule_counts: dict[str, RuleCount]
    rule_violation_rate: dict[str, float]
    k: int
    pass_at_k: float | None  # None unless several samples per case
    pass_hat_k: float | None
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    latency_p50: float | None
    latency_p95: float | None
    scores: tuple[float, ...]  # for distribution charts

    @property
    def errors(self) -> int:
        return self.status_counts.get("provider-error", 0)


@dataclass(frozen=True, kw_only=True)
class CellAggregate(Stats):
    template: str
    model: str
    min_score: float | None  # None: the run's recorded `passed` flags were used


@dataclass(frozen=True, kw_only=True)
class ModelAggregate(Stats):
    model: str
    simulated: bool
    rank: int


class _Acc:
    """Counters for one group of samples; per sample only three doubles (score, cost, latency)."""

    __slots__ = (
        "completion_tokens",
        "costs",
        "latencies",
        "n",
        "passes",
        "per_case",
        "prompt_tokens",
        "rule_applicable",
        "rule_violations",
        "scores",
        "status",
    )

    def __init__(self) -> None:
        self.n = 0
        self.status: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self.scores = array("d")  # plain doubles: 8 bytes a sample, no float objects
        self.passes = 0
        self.rule_violations: dict[str, int] = {}
        self.rule_applicable: dict[str, int] = {}
        self.per_case: dict[tuple[str, str], list[int]] = {}  # (template, case) -> [n, c]
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.costs = array("d")  # fsum'd: merged shards aggregate to the same value
        self.latencies = array("d")

    def add(self, r: SampleResult, passed: bool) -> None:
        self.n += 1
        self.status[r.status] = self.status.get(r.status, 0) + 1
        self.prompt_tokens += r.usage.prompt_tokens
        self.completion_tokens += r.usage.completion_tokens
        if r.usage.cost is not None:
            self.costs.append(r.usage.cost)
        if r.status != "not-recorded" and r.usage.latency_ms > 0:
            self.latencies.append(r.usage.latency_ms)
        if r.status in UNSCORED:
            return
        self.scores.append(float(r.score or 0.0))
        self.passes += passed
        case = self.per_case.setdefault((r.template, r.case), [0, 0])
        case[0] += 1
        case[1] += passed
        codes = {f.code for f in r.findings}
        for rule in r.applicable:
            self.rule_applicable[rule] = self.rule_applicable.get(rule, 0) + 1
            if rule_violated(rule, codes):
                self.rule_violations[rule] = self.rule_violations.get(rule, 0) + 1

    def stats(self, k: int | None = None) -> dict[str, Any]:
        n_scored = len(self.scores)
        low, high = wilson(self.passes, n_scored)
        kk = k if k is not None else max((c[0] for c in self.per_case.values()), default=0)
        at_k = hat_k = None
        if kk > 1 and self.per_case:
            cases = list(self.per_case.values())
            at_k = math.fsum(pass_at_k(n, c, kk) for n, c in cases) / len(cases)
            hat_k = math.fsum(pass_hat_k(n, c, kk) for n, c in cases) / len(cases)
        rules = sorted(self.rule_applicable)
        counts = {
            c: RuleCount(self.rule_violations.get(c, 0), self.rule_applicable[c]) for c in rules
        }
        return {
            "n": self.n,
            "n_scored": n_scored,
            "status_counts": dict(self.status),
            "mean_score": math.fsum(self.scores) / n_scored if n_scored else None,
            "passes": self.passes,
            "pass_rate": self.passes / n_scored if n_scored else None,
            "wilson_low": low,
            "wilson_high": high,
            "rule_counts": counts,
            "rule_violation_rate": {c: rc.rate for c, rc in counts.items()},
            "k": kk,
            "pass_at_k": at_k,
            "pass_hat_k": hat_k,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": math.fsum(self.costs) if self.costs else None,
            "latency_p50": percentile(self.latencies, 50),
            "latency_p95": percentile(self.latencies, 95),
            "scores": tuple(sorted(self.scores)),  # order-free: shards and resumes agree
        }


@dataclass(frozen=True)
class RunSummary:
    templates: tuple[str, ...]
    models: tuple[str, ...]
    cells: tuple[CellAggregate, ...]  # sorted by (template, model)
    model_stats: tuple[ModelAggregate, ...]  # in ranking order
    ranking: tuple[str, ...]  # model aliases, best first
    rules_seen: tuple[str, ...]
    simulated: dict[str, bool]
    n: int
    status_counts: dict[str, int]

    @property
    def any_simulated(self) -> bool:
        return any(self.simulated.values())

    def cell(self, template: str, model: str) -> CellAggregate | None:
        return next((c for c in self.cells if c.template == template and c.model == model), None)

    def model(self, alias: str) -> ModelAggregate | None:
        return next((m for m in self.model_stats if m.model == alias), None)

    def to_dict(self, *, scores: bool = True) -> dict[str, Any]:
        """Plain JSON-ready dict, keys sorted. `scores=False` drops the per-sample score lists."""
        data = _jsonable(dataclasses.asdict(self))
        if not scores:
            for group in (data["cells"], data["model_stats"]):
                for row in group:
                    row.pop("scores", None)
        return data

    def to_json(self, indent: int | None = 2, *, scores: bool = True) -> str:
        return json.dumps(self.to_dict(scores=scores), indent=indent, sort_keys=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _rank_key(m: dict[str, Any]) -> tuple[float, float, float, str]:
    mean = m["mean_score"]
    rate = m["pass_rate"]
    cost = m["cost"]
    return (
        -(mean if mean is not None else -1.0),
        -(rate if rate is not None else -1.0),
        cost if cost is not None else math.inf,
        m["model"],
    )


def aggregate(
    results: Iterable[SampleResult],
    min_scores: Mapping[str, float] | None = None,
    *,
    k: int | None = None,
) -> RunSummary:
    """Aggregate a stream of SampleResults (read once, never held) into a RunSummary.

    A sample passes when it was scored and its score >= the template's min score (from
    `min_scores`, else the `passed` flag the run recorded). `k` for pass@k / pass^k defaults
    to the largest number of scored samples of one case in the group (k = samples per case).
    """
    cells: dict[tuple[str, str], _Acc] = {}
    models: dict[str, _Acc] = {}
    simulated: dict[str, bool] = {}
    cell_min: dict[tuple[str, str], float] = {}
    total = _Acc()
    for r in results:
        if r.status in UNSCORED:
            passed = False
        elif min_scores is not None and r.template in min_scores:
            passed = r.status == "scored" and (r.score or 0.0) >= min_scores[r.template]
        else:
            passed = bool(r.passed)
        cells.setdefault((r.template, r.model), _Acc()).add(r, passed)
        models.setdefault(r.model, _Acc()).add(r, passed)
        simulated[r.model] = simulated.get(r.model, False) or r.simulated
        total.n += 1
        total.status[r.status] = total.status.get(r.status, 0) + 1
        if min_scores is not None and r.template in min_scores:
            cell_min[r.cell] = min_scores[r.template]

    cell_aggs = tuple(
        CellAggregate(
            template=t,
            model=m,
            min_score=cell_min.get((t, m)),
            **acc.stats(k),
        )
        for (t, m), acc in sorted(cells.items())
    )
    model_rows = [{"model": m, **acc.stats(k)} for m, acc in models.items()]
    model_rows.sort(key=_rank_key)
    model_aggs = tuple(
        ModelAggregate(simulated=simulated[row["model"]], rank=i + 1, **row)
        for i, row in enumerate(model_rows)
    )
    rules_seen = sorted({c for acc in cells.values() for c in acc.rule_applicable})
    return RunSummary(
        templates=tuple(sorted({t for t, _ in cells})),
        models=tuple(sorted(models)),
        cells=cell_aggs,
        model_stats=model_aggs,
        ranking=tuple(m.model for m in model_aggs),
        rules_seen=tuple(rules_seen),
        simulated=dict(sorted(simulated.items())),
        n=total.n,
        status_counts=dict(total.status),
    )
