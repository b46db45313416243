"""Aggregates: a stream of SampleResults -> per cell and per model statistics (scores,
pass rates and rule rates with intervals, density, adherence, per-case counts for the gate).
One sample's score is `harness.sample`."""

from __future__ import annotations

import dataclasses
import json
import math
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.record import UNSCORED, SampleResult
from harness.sample import rule_violated
from harness.stats import (
    pass_at_k,
    pass_hat_k,
    percentile,
    wilson,
)

STATUSES: tuple[str, ...] = (
    "scored",
    "no-code",
    "truncated",
    "parse-error",
    "check-error",
    "nothing-checked",
    "provider-error",
    "not-recorded",
)
# --------------------------------------------------------------------------- aggregates


@dataclass(frozen=True, slots=True)
class RuleCount:
    """A rule over a group of samples: in how many it applied and was violated, its Wilson
    95% interval, how many findings counted (duplicates merged away), and those findings
    per 100 lines of generated code."""

    violations: int
    applicable: int
    low: float = 0.0
    high: float = 1.0
    findings: int = 0
    per_100_lines: float = 0.0

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
    lines: int  # lines of generated code in the scored samples
    findings_per_100_lines: float  # every counting finding, per 100 lines
    # Instruction adherence: for each rule a template links to an instruction, the share of
    # samples (where it applied) that follow it, with its Wilson 95% interval.
    adherence: dict[str, tuple[float, float, float]]
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


@dataclass(frozen=True, slots=True)
class CaseCount:
    """One case of a cell: its scored samples, passes, and per rule (violations, applicable):
    what the gate pairs with the same case of the baseline."""

    n_scored: int
    passes: int
    rules: dict[str, tuple[int, int]]


@dataclass(frozen=True, kw_only=True)
class CellAggregate(Stats):
    template: str
    model: str
    min_score: float | None  # None: the run's recorded `passed` flags were used
    cases: dict[str, CaseCount] = field(default_factory=dict)


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
        "lines",
        "linked",
        "n",
        "passes",
        "per_case",
        "per_case_rules",
        "prompt_tokens",
        "rule_applicable",
        "rule_findings",
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
        self.rule_findings: dict[str, int] = {}
        self.linked: dict[str, list[int]] = {}  # code -> [applicable, followed]
        self.lines = 0
        self.per_case: dict[tuple[str, str], list[int]] = {}  # (template, case) -> [n, c]
        # (template, case) -> code -> [violations, applicable]
        self.per_case_rules: dict[tuple[str, str], dict[str, list[int]]] = {}
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
        if r.status not in UNSCORED and r.usage.latency_ms > 0:  # latency of results only
            self.latencies.append(r.usage.latency_ms)
        if r.status in UNSCORED:
            return
        self.scores.append(float(r.score or 0.0))
        self.passes += passed
        case = self.per_case.setdefault((r.template, r.case), [0, 0])
        case[0] += 1
        case[1] += passed
        self.lines += r.lines
        case_rules = self.per_case_rules.setdefault((r.template, r.case), {})
        if r.breakdown:
            for item in r.breakdown:
                if item.outcome == "exempt":
                    continue
                code = item.code
                self.rule_applicable[code] = self.rule_applicable.get(code, 0) + 1
                failed = item.outcome == "fail"
                counts = case_rules.setdefault(code, [0, 0])
                counts[0] += failed
                counts[1] += 1
                if failed:
                    self.rule_violations[code] = self.rule_violations.get(code, 0) + 1
                self.rule_findings[code] = self.rule_findings.get(code, 0) + item.findings
                if item.instruction:
                    linked = self.linked.setdefault(code, [0, 0])
                    linked[0] += 1
                    linked[1] += not failed
            return
        codes = {f.code for f in r.findings}  # a run recorded before the breakdown existed
        for rule in r.applicable:
            self.rule_applicable[rule] = self.rule_applicable.get(rule, 0) + 1
            counts = case_rules.setdefault(rule, [0, 0])
            counts[1] += 1
            if rule_violated(rule, codes):
                counts[0] += 1
                self.rule_violations[rule] = self.rule_violations.get(rule, 0) + 1

    def cases(self) -> dict[str, CaseCount]:
        return {
            case: CaseCount(
                n,
                c,
                {
                    code: (v, a)
                    for code, (v, a) in sorted(self.per_case_rules.get((t, case), {}).items())
                },
            )
            for (t, case), (n, c) in sorted(self.per_case.items())
        }

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
        per_line = 100.0 / self.lines if self.lines else 0.0
        counts = {
            c: RuleCount(
                self.rule_violations.get(c, 0),
                self.rule_applicable[c],
                *wilson(self.rule_violations.get(c, 0), self.rule_applicable[c]),
                self.rule_findings.get(c, 0),
                round(self.rule_findings.get(c, 0) * per_line, 6),
            )
            for c in rules
        }
        adherence = {
            c: (followed / n, *wilson(followed, n))
            for c, (n, followed) in sorted(self.linked.items())
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
            "lines": self.lines,
            "findings_per_100_lines": round(sum(self.rule_findings.values()) * per_line, 6),
            "adherence": adherence,
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
            passed = (
                r.status == "scored"
                and (r.score or 0.0) >= min_scores[r.template]
                and not r.blocked
            )
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
            cases=acc.cases(),
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
