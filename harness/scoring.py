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
from harness.record import UNSCORED, RuleScore, SampleResult
from harness.stats import (
    pass_at_k,
    pass_hat_k,
    percentile,
    wilson,
)
from harness.templates.spec import Expect

if TYPE_CHECKING:
    from harness.code.engine import CheckResult  # libcst: only where code is checked

ScoreStatus = Literal[
    "scored", "no-code", "truncated", "parse-error", "check-error", "nothing-checked"
]
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
RUFF_RULE = "ruff"
TASK_RULE = "TSK001"
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
    breakdown: tuple[RuleScore, ...] = ()

    @property
    def failed_rules(self) -> tuple[str, ...]:
        if self.breakdown:
            return tuple(r.code for r in self.breakdown if r.outcome == "fail")
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


@dataclass(frozen=True, slots=True)
class HouseRule:
    weight: float = 1.0
    blocking: bool = False


#: The house profile: code -> weight and whether a violation blocks. `house_profile` builds it.
Profile = Mapping[str, HouseRule]


def house_profile(
    codes: Iterable[str],
    rules: Mapping[str, Any] | None = None,
    blocking: Iterable[str] = (),
) -> dict[str, HouseRule]:
    """The profile from `harness.yaml`'s `profile:`; `rules` None means every code in
    `codes` (the built-in code rules, TSK001, `ruff`) at weight 1."""
    block = set(blocking)
    if rules is None:
        return {c: HouseRule(1.0, c in block) for c in codes}
    return {
        c: HouseRule(
            float(getattr(r, "weight", 1.0)), bool(getattr(r, "blocking", False)) or c in block
        )
        for c, r in rules.items()
    }


#: Ruff codes that report what one of our rules reports: on the same line, ruff's finding is
#: a duplicate and does not count.
RUFF_DUPLICATES: dict[str, str] = {
    "ruff:S608": "SQL001",
    "ruff:E722": "EXC002",
    "ruff:BLE001": "EXC001",
    "ruff:S110": "EXC001",
    "ruff:S112": "EXC001",
    "ruff:DTZ003": "SQA008",
    "ruff:UP006": "PYD010",
}


def _merge_duplicates(
    findings: Sequence[tuple[int, Finding]], weights: Mapping[str, float]
) -> tuple[set[int], dict[str, set[str]]]:
    """Indices of findings that count, and, per counting code, the codes merged into it.

    Findings of several rules on the same node count once, for the rule of highest weight;
    a ruff finding that repeats one of ours on the same line does not count."""
    by_node: dict[tuple[int, int, int, int, int], list[int]] = {}
    ours_by_line: dict[tuple[int, int], set[str]] = {}
    for i, (unit, f) in enumerate(findings):
        by_node.setdefault((unit, f.line, f.col, f.end_line, f.end_col), []).append(i)
        if not f.code.startswith(RUFF_PREFIX):
            ours_by_line.setdefault((unit, f.line), set()).add(f.code)
    counting: set[int] = set()
    merged: dict[str, set[str]] = {}
    for group in by_node.values():
        codes = {findings[i][1].code for i in group}
        if len(codes) == 1:
            counting.update(group)
            continue
        best = max(sorted(codes), key=lambda c: weights.get(c, 0.0))
        for i in group:
            code = findings[i][1].code
            if code == best:
                counting.add(i)
            else:
                merged.setdefault(best, set()).add(code)
    for i in list(counting):
        unit, f = findings[i]
        ours = RUFF_DUPLICATES.get(f.code)
        if ours is not None and ours in ours_by_line.get((unit, f.line), ()):
            counting.discard(i)
            merged.setdefault(ours, set()).add(f.code)
    return counting, merged


def score_sample(
    results: Sequence[CheckResult],
    ruff_findings: Sequence[Sequence[Finding]] = (),
    expect: Expect | None = None,
    min_score: float = DEFAULT_MIN_SCORE,
    *,
    outcome: str = "code",
    detail: str | None = None,
    profile: Profile | None = None,
    provides: Sequence[Any] = (),
) -> SampleScore:
    """Score one sample from the engine's results (one per unit) and ruff's (one per unit).

    `outcome` is the extraction outcome: anything but "code" scores 0 with that status.
    `ruff_findings` empty means ruff did not run, so the `ruff` rule is not applicable.
    Every sample is scored on the house `profile` (default: every rule the engine applied
    and `ruff`, weight 1) together with the template's `expect.rules`, which add weight;
    `expect.exempt` takes a house rule out. A rule counts only where it checked something.
    `provides` are the rendered items the code must provide (TSK001). The sample passes when
    its score reaches `min_score` and no blocking rule is violated.
    """
    if outcome != "code" or not results:
        status = outcome if outcome in ("no-code", "truncated") else "no-code"
        return SampleScore(status, 0.0, False, detail=detail)  # type: ignore[arg-type]

    findings: list[tuple[int, Finding]] = []
    for i, res in enumerate(results):
        findings.extend((i, f) for f in res.findings)
    for i, unit_findings in enumerate(ruff_findings):
        findings.extend((i, f) for f in unit_findings)

    failed = [r for r in results if r.status == "check-error"]
    if failed:  # never a pass: the unit could not be checked
        res = failed[0]
        text = f"{res.unit.path}: {res.problem or 'could not be checked'}"
        return SampleScore("check-error", 0.0, False, findings=_sorted(findings), detail=text)

    broken = [(i, r) for i, r in enumerate(results) if r.status == "parse-error"]
    if broken:
        i, res = broken[0]
        pe = res.parse_error
        where = f"{res.unit.path}:{pe.line}:{pe.col}" if pe else res.unit.path
        text = f"{where}: {pe.message}" if pe else f"{where}: does not parse"
        return SampleScore("parse-error", 0.0, False, findings=_sorted(findings), detail=text)

    ruff_ran = len(ruff_findings) > 0
    if provides:
        from harness.code.rules.task.task_conformance import TaskConformance

        offers = [o for r in results for o in r.offers]
        path = results[0].unit.path
        for item in TaskConformance.missing(provides, offers):
            message = f"The code does not provide what the task asks for: {item}"
            findings.append(
                (0, Finding(TASK_RULE, TaskConformance.name, message, 1, 1, 1, 1, path=path))
            )
    applied = {c for r in results for c in r.applicable}
    if ruff_ran:
        applied.add(RUFF_RULE)
    if provides:
        applied.add(TASK_RULE)

    house = dict(profile) if profile is not None else {c: HouseRule() for c in sorted(applied)}
    exempt = {e.code: e.reason for e in expect.exempt} if expect is not None else {}
    weights: dict[str, float] = {}
    source: dict[str, str] = {}
    blocking: set[str] = set()
    linked: set[str] = set()
    for code, rule in house.items():
        if code in applied and code not in exempt:
            weights[code] = rule.weight
            source[code] = "house"
            if rule.blocking:
                blocking.add(code)
    template_codes: set[str] = set()
    for rule in expect.rules if expect is not None else ():
        code = RUFF_RULE if rule.code.lower().startswith(RUFF_RULE) else rule.code
        template_codes.add(code)
        if code not in applied or code in exempt:
            continue
        weights[code] = weights.get(code, 0.0) + rule.weight
        source[code] = "house+template" if source.get(code) == "house" else "template"
        if rule.blocking:
            blocking.add(code)
        if rule.instruction:
            linked.add(code)

    findings = list(_sorted(findings))
    checked = [c for c in weights if c not in (RUFF_RULE, TASK_RULE)]
    if expect is not None and expect.rules and not provides:
        checked = [c for c in checked if c in template_codes]
    if not checked and TASK_RULE not in weights:
        text = "no rule found anything to check in the code (no model, handler, query, ...)"
        return SampleScore("nothing-checked", 0.0, False, findings=tuple(findings), detail=text)

    counting, merged = _merge_duplicates(findings, weights)
    counts: dict[str, int] = {}
    for i in counting:
        code = findings[i][1].code
        counts[code] = counts.get(code, 0) + 1
    counting_codes = set(counts)
    violated = {c for c in weights if rule_violated(c, counting_codes)}
    total = sum(weights.values())
    passed_weight = sum(w for c, w in weights.items() if c not in violated)
    score = 100.0 if total == 0 else round(100.0 * passed_weight / total, 6)
    blocked = sorted(c for c in violated if c in blocking)
    missing = [f.message.split(": ", 1)[-1] for _, f in findings if f.code == TASK_RULE]
    breakdown = [
        RuleScore(
            code=c,
            weight=w,
            source=source[c],  # type: ignore[arg-type]
            outcome="fail" if c in violated else "pass",
            blocking=c in blocking,
            instruction=c in linked,
            findings=_rule_count(c, counts),
            merged=tuple(sorted(merged.get(c, ()))),
            note="missing: " + "; ".join(missing) if c == TASK_RULE and missing else None,
        )
        for c, w in weights.items()
    ]
    breakdown += [
        RuleScore(code=c, weight=0.0, source="house", outcome="exempt", note=reason)
        for c, reason in sorted(exempt.items())
        if c in applied
    ]
    if blocked:
        why = f"blocking rule violated: {', '.join(blocked)}"
        detail = f"{detail}; {why}" if detail else why
    return SampleScore(
        "scored",
        score,
        score >= min_score and not blocked,
        applicable=tuple(weights),
        weights=weights,
        findings=tuple(findings),
        detail=detail,
        breakdown=tuple(sorted(breakdown, key=lambda r: r.code)),
    )


def _rule_count(code: str, counts: Mapping[str, int]) -> int:
    if code == RUFF_RULE:
        return sum(n for c, n in counts.items() if is_ruff_error(c))
    return counts.get(code, 0)


def _sorted(findings: Iterable[tuple[int, Finding]]) -> tuple[tuple[int, Finding], ...]:
    return tuple(sorted(findings, key=lambda p: (p[0], p[1].line, p[1].col, p[1].code)))


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
        if r.status != "not-recorded" and r.usage.latency_ms > 0:
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
