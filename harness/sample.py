"""One sample's score: its findings, the house profile and the template's expectations.

A sample either has no usable code (no code, truncated, parse error, nothing to check:
score 0, status kept apart) or was parsed and checked: score = 100 x (weight of rules passed)
/ (weight of rules that applied). Provider errors and offline misses are not scored at all.

Ruff counts as one extra rule, `ruff` (weight 1, or the weight a template gives `ruff`), which
fails when ruff reports any error-level finding: codes `F...` (pyflakes: undefined names,
unused imports...) and `E9...` (syntax/IO errors). Other ruff findings are kept for the reports
but do not change the score. The `ruff` rule is applicable whenever ruff ran on the sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from harness.findings import Finding
from harness.record import RuleScore
from harness.templates.spec import Expect

if TYPE_CHECKING:
    from harness.code.engine import CheckResult  # libcst: only where code is checked

ScoreStatus = Literal[
    "scored", "no-code", "truncated", "parse-error", "check-error", "nothing-checked"
]
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
    *,
    only: bool = False,
) -> dict[str, HouseRule]:
    """The profile from `harness.yaml`'s `profile:`: every code in `codes` (the built-in code
    rules, TSK001, `ruff`) at weight 1, with `rules` over it (`only`: just `rules`)."""
    block = set(blocking)
    out = {} if only else {c: HouseRule(1.0, c in block) for c in codes}
    for c, r in (rules or {}).items():
        weight = float(getattr(r, "weight", 1.0))
        out[c] = HouseRule(weight, bool(getattr(r, "blocking", False)) or c in block)
    return out


#: Ruff codes that report what one of our rules reports: on the same line, ruff's finding is
#: a duplicate and does not count.
RUFF_DUPLICATES: dict[str, tuple[str, ...]] = {
    "ruff:S608": ("SQL001",),
    # A bare `except:` is EXC002's, or EXC001's when it swallows the error.
    "ruff:E722": ("EXC002", "EXC001"),
    "ruff:BLE001": ("EXC001",),
    "ruff:S110": ("EXC001",),
    "ruff:S112": ("EXC001",),
    "ruff:DTZ003": ("SQA008",),
    "ruff:UP006": ("PYD010",),
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
        on_line = ours_by_line.get((unit, f.line), set())
        for ours in RUFF_DUPLICATES.get(f.code, ()):
            if ours in on_line:
                counting.discard(i)
                merged.setdefault(ours, set()).add(f.code)
                break
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
