from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from itertools import product

import pytest

from harness.code.engine import CheckResult, ParseFailure
from harness.code.unit import CodeUnit
from harness.findings import Finding, Severity
from harness.record import SampleResult, Usage
from harness.sample import score_sample
from harness.scoring import aggregate
from harness.stats import (
    fisher_one_sided,
    one_sided_two_proportion_test,
    pass_at_k,
    pass_hat_k,
    percentile,
    stratified_one_sided,
    wilson,
)
from harness.templates.spec import Expect

UNIT = CodeUnit("x = 1\n", path="a.py")


def _f(code: str, line: int = 1, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(code, "some-rule", "msg", line, 1, line, 2, severity, "a.py")


def _ok(applicable: tuple[str, ...], *findings: Finding) -> CheckResult:
    return CheckResult(UNIT, "ok", tuple(findings), applicable)


# --------------------------------------------------------------------------- score_sample


def test_all_applicable_rules_weight_one() -> None:
    res = [_ok(("EXC001", "EXC002", "PYD001", "PYD003"), _f("EXC002", 3), _f("EXC002", 5))]
    s = score_sample(res, (), Expect(), 80)
    assert s.status == "scored"
    assert s.score == 75.0
    assert not s.passed
    assert s.applicable == ("EXC001", "EXC002", "PYD001", "PYD003")
    assert s.failed_rules == ("EXC002",)
    assert [u for u, _ in s.findings] == [0, 0]


def test_expected_rules_add_weight_to_the_house_profile() -> None:
    expect = Expect(
        rules=[
            {"code": "PYD001", "weight": 3},
            {"code": "exc002", "weight": 1},
            {"code": "SQA001", "weight": 5},  # not applicable anywhere: not counted
        ]
    )
    res = [
        _ok(("PYD001",), _f("PYD001")),
        _ok(("EXC002", "EXC001"), _f("EXC001")),  # a house rule the template does not list
    ]
    s = score_sample(res, (), expect, 20)
    assert s.weights == {"EXC001": 1.0, "EXC002": 2.0, "PYD001": 4.0}
    assert s.score == pytest.approx(100 * 2 / 7)
    assert s.passed  # 28.6 >= 20
    assert {f.code for _, f in s.findings} == {"PYD001", "EXC001"}
    assert [u for u, _ in s.findings] == [0, 1]


def test_ruff_is_one_rule_failing_only_on_error_codes() -> None:
    res = [_ok(("EXC002",))]
    warn_only = score_sample(res, [(_f("ruff:B006"), _f("ruff:UP035"))], Expect(), 80)
    assert warn_only.weights == {"EXC002": 1.0, "ruff": 1.0}
    assert warn_only.score == 100.0
    failing = score_sample(res, [(_f("ruff:F821"),)], Expect(), 80)
    assert failing.score == 50.0
    syntax = score_sample(res, [(_f("ruff:E999"),)], Expect(), 80)
    assert syntax.score == 50.0
    style = score_sample(res, [(_f("ruff:E501"),)], Expect(), 80)
    assert style.score == 100.0


def test_ruff_weight_from_expect() -> None:
    expect = Expect(rules=[{"code": "EXC002", "weight": 1}, {"code": "ruff", "weight": 3}])
    s = score_sample([_ok(("EXC002",))], [(_f("ruff:F401"),)], expect, 80)
    assert s.weights == {"EXC002": 2.0, "ruff": 4.0}
    assert s.score == pytest.approx(100 * 2 / 6)


def test_nothing_to_check_is_never_a_pass() -> None:
    s = score_sample([_ok(())], [()], Expect(), 80)
    assert (s.status, s.score, s.passed) == ("nothing-checked", 0.0, False)
    # A template's rules none of which found anything to check: the same.
    expect = Expect(rules=[{"code": "SQA006"}])
    s = score_sample([_ok(("EXC002",))], [()], expect, 80)
    assert s.status == "nothing-checked"


@pytest.mark.parametrize("outcome", ["no-code", "truncated"])
def test_extraction_outcomes_score_zero_with_their_status(outcome: str) -> None:
    s = score_sample([], (), Expect(), 0, outcome=outcome, detail="why")
    assert (s.status, s.score, s.passed, s.detail) == (outcome, 0.0, False, "why")


def test_parse_error_scores_zero_and_says_where() -> None:
    bad = CheckResult(
        CodeUnit("def(", path="b.py"), "parse-error", parse_error=ParseFailure("boom", 1, 4)
    )
    s = score_sample([_ok(("EXC002",)), bad], [(), ()], Expect(), 0)
    assert (s.status, s.score, s.passed) == ("parse-error", 0.0, False)
    assert s.detail == "b.py:1:4: boom"


# --------------------------------------------------------------------------- statistics


def test_wilson_known_values() -> None:
    low, high = wilson(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
    low, high = wilson(0, 10)
    assert low == 0.0 and round(high, 3) == 0.278
    low, high = wilson(10, 10)
    assert round(low, 3) == 0.722 and high == pytest.approx(1.0)
    assert wilson(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(("n", "c", "k"), [(5, 2, 2), (10, 3, 5), (4, 4, 3), (4, 0, 2), (3, 1, 3)])
def test_pass_at_k_matches_the_formula(n: int, c: int, k: int) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))
    assert pass_hat_k(n, c, k) == pytest.approx(math.comb(c, k) / math.comb(n, k))


def test_pass_at_k_clamps_k_to_n() -> None:
    assert pass_at_k(2, 0, 5) == 0.0
    assert pass_at_k(2, 1, 5) == 1.0
    assert pass_hat_k(2, 2, 5) == 1.0


def test_two_proportion_test() -> None:
    # Large counts: normal approximation, z = 0.2 / sqrt(0.7*0.3*0.02) = 3.086
    p = one_sided_two_proportion_test(80, 100, 60, 100)
    assert p == pytest.approx(0.5 * math.erfc(3.0861 / math.sqrt(2)), rel=1e-3)
    # Reverse direction is not significant.
    assert one_sided_two_proportion_test(60, 100, 80, 100) > 0.99
    # Small counts: Fisher's exact, the classic 9/10 vs 3/10 table.
    assert one_sided_two_proportion_test(9, 10, 3, 10) == pytest.approx(0.009883, abs=1e-5)
    assert fisher_one_sided(3, 3, 0, 3) == pytest.approx(0.05)
    assert one_sided_two_proportion_test(5, 5, 5, 5) == 1.0
    assert one_sided_two_proportion_test(0, 0, 1, 2) == 1.0


def _conditional_tail(strata: Sequence[tuple[int, int, int, int]]) -> float:
    """P[sum of x1 >= observed] given every stratum's margins, by brute force over every
    way to split each stratum's successes between the groups."""
    supports = []
    for x1, n1, x2, n2 in strata:
        s = x1 + x2
        denom = math.comb(n1 + n2, n1)
        supports.append(
            [
                (k, math.comb(s, k) * math.comb(n1 + n2 - s, n1 - k) / denom)
                for k in range(min(s, n1) + 1)
                if n1 - k <= n1 + n2 - s
            ]
        )
    observed = sum(x1 for x1, _, _, _ in strata)
    tail = 0.0
    for combo in product(*supports):
        if sum(k for k, _ in combo) >= observed:
            tail += math.prod(p for _, p in combo)
    return tail


def test_stratified_test_is_exact_for_small_counts() -> None:
    # One stratum: Fisher's exact test.
    assert stratified_one_sided([(3, 3, 0, 3)]) == pytest.approx(fisher_one_sided(3, 3, 0, 3))
    assert stratified_one_sided([(9, 10, 3, 10)]) == pytest.approx(0.009883, abs=1e-5)
    strata = [(2, 3, 0, 3), (1, 3, 0, 3), (3, 3, 1, 3), (1, 4, 1, 2)]
    assert stratified_one_sided(strata) == pytest.approx(_conditional_tail(strata))
    # The other direction is not significant.
    assert stratified_one_sided([(x2, n2, x1, n1) for x1, n1, x2, n2 in strata]) > 0.9


def test_stratified_test_skips_cases_without_variation() -> None:
    strata = [(2, 3, 0, 3), (1, 3, 0, 3)]
    dull = [(0, 3, 0, 3), (3, 3, 3, 3), (2, 3, 0, 0), (0, 0, 1, 3)]
    assert stratified_one_sided(strata + dull) == pytest.approx(stratified_one_sided(strata))
    assert stratified_one_sided(dull) == 1.0
    assert stratified_one_sided([]) == 1.0


def test_stratified_test_uses_the_cmh_normal_approximation_for_large_counts() -> None:
    strata = [(3, 5, 1, 5)] * 20  # expected sum 40, attainable 0..80: Mantel-Fleiss holds
    mean = 20 * 5 * 4 / 10
    var = 20 * 5 * 5 * 4 * 6 / (10 * 10 * 9)
    z = (60 - mean) / math.sqrt(var)
    assert stratified_one_sided(strata) == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)))
    # Mantel and Fleiss's rule draws the line: expected 4.5 of 0..9 is exact, 5 of 0..10 not.
    nine = [(1, 3, 0, 3)] * 9
    assert stratified_one_sided(nine) == pytest.approx(_conditional_tail(nine))
    assert stratified_one_sided(nine) == pytest.approx(0.5**9)
    ten = [(1, 3, 0, 3)] * 10
    assert stratified_one_sided(ten) == pytest.approx(0.5 * math.erfc(math.sqrt(10) / math.sqrt(2)))


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)


# --------------------------------------------------------------------------- aggregate


def _sr(
    template: str,
    model: str,
    case: str,
    sample: int,
    status: str = "scored",
    score: float | None = 100.0,
    codes: tuple[str, ...] = (),
    applicable: tuple[str, ...] = ("EXC002", "PYD001"),
    cost: float | None = 0.01,
    latency: float = 100.0,
    simulated: bool = False,
) -> SampleResult:
    scored = status not in ("provider-error", "not-recorded")
    return SampleResult(
        template=template,
        template_hash="h",
        case=case,
        model=model,
        model_string=f"x/{model}",
        simulated=simulated,
        sample=sample,
        key=f"{template}-{model}-{case}-{sample}",
        status=status,  # type: ignore[arg-type]
        score=score if scored else None,
        passed=(score or 0) >= 80 if scored else None,
        applicable=applicable if status == "scored" else (),
        findings=tuple(
            Finding(code=c, name="n", message="m", line=1, col=1, end_line=1, end_col=2)
            for c in codes
        ),
        usage=Usage(prompt_tokens=10, completion_tokens=20, cost=cost, latency_ms=latency),
    )


def test_aggregate_streams_and_excludes_provider_errors() -> None:
    consumed: list[int] = []

    def gen() -> Iterator[SampleResult]:
        rows = [
            _sr("t1", "a", "c1", 0, score=100.0, latency=100),
            _sr("t1", "a", "c1", 1, score=50.0, codes=("EXC002",), latency=200),
            _sr("t1", "a", "c2", 0, status="no-code", score=0.0, latency=300),
            _sr("t1", "a", "c2", 1, status="provider-error", cost=None, latency=400),
            _sr("t1", "a", "c2", 2, status="not-recorded", cost=None, latency=0),
            _sr("t1", "b", "c1", 0, score=90.0, cost=None, simulated=True),
        ]
        for i, r in enumerate(rows):
            consumed.append(i)
            yield r

    summary = aggregate(gen())
    assert consumed == list(range(6))
    cell = summary.cell("t1", "a")
    assert cell is not None
    assert cell.n == 5 and cell.n_scored == 3
    assert cell.status_counts["provider-error"] == 1
    assert cell.status_counts["not-recorded"] == 1
    assert cell.status_counts["no-code"] == 1
    assert cell.mean_score == pytest.approx(50.0)  # (100 + 50 + 0) / 3: errors excluded
    assert cell.passes == 1 and cell.pass_rate == pytest.approx(1 / 3)
    assert (cell.wilson_low, cell.wilson_high) == pytest.approx(wilson(1, 3))
    assert cell.rule_counts["EXC002"].violations == 1
    assert cell.rule_counts["EXC002"].applicable == 2
    assert cell.rule_violation_rate == {"EXC002": 0.5, "PYD001": 0.0}
    assert cell.cost == pytest.approx(0.03)
    # Latency of the results only (100, 200, 300): a failed call is not a latency figure.
    assert cell.latency_p50 == pytest.approx(200.0)
    assert cell.prompt_tokens == 50
    # k = 2 (most scored samples in one case); c1: n=2 c=1, c2: n=1 c=0 (k clamps to 1)
    assert cell.k == 2
    assert cell.pass_at_k == pytest.approx((pass_at_k(2, 1, 2) + pass_at_k(1, 0, 2)) / 2)
    assert cell.pass_hat_k == pytest.approx((pass_hat_k(2, 1, 2) + 0.0) / 2)

    b = summary.cell("t1", "b")
    assert b is not None and b.cost is None and b.pass_at_k is None
    assert summary.simulated == {"a": False, "b": True}
    assert summary.any_simulated
    assert summary.ranking == ("b", "a")
    assert summary.model("b").rank == 1  # type: ignore[union-attr]
    assert summary.n == 6


def test_aggregate_min_scores_override_recorded_pass() -> None:
    rows = [_sr("t1", "a", "c1", 0, score=60.0), _sr("t1", "a", "c1", 1, score=85.0)]
    assert aggregate(rows).cell("t1", "a").passes == 1  # type: ignore[union-attr]
    strict = aggregate(rows, {"t1": 90.0}).cell("t1", "a")
    assert strict is not None and strict.passes == 0 and strict.min_score == 90.0
    lax = aggregate(rows, {"t1": 50.0}).cell("t1", "a")
    assert lax is not None and lax.passes == 2


def test_ranking_ties_break_on_pass_rate_then_cost() -> None:
    rows = [
        # same mean (75) for all three
        _sr("t", "cheap", "c", 0, score=75.0, cost=0.01),
        _sr("t", "dear", "c", 0, score=75.0, cost=0.05),
        _sr("t", "split", "c", 0, score=100.0, cost=1.0),
        _sr("t", "split", "c", 1, score=50.0, cost=1.0),
    ]
    summary = aggregate(rows)
    assert summary.ranking == ("split", "cheap", "dear")


def test_model_aggregate_spans_templates() -> None:
    rows = [
        _sr(t, "a", "c", s, score=100.0 if t == "t1" else 0.0)
        for t in ("t1", "t2")
        for s in range(2)
    ]
    m = aggregate(rows).model("a")
    assert m is not None
    assert m.n == 4 and m.mean_score == 50.0 and m.pass_rate == 0.5
    assert m.k == 2 and m.pass_at_k == 0.5 and m.pass_hat_k == 0.5


def test_summary_json_is_stable() -> None:
    rows = [_sr("t2", "b", "c", 0), _sr("t1", "a", "c", 0, codes=("EXC002",), score=50.0)]
    one = aggregate(rows).to_json()
    two = aggregate(reversed(rows)).to_json()
    assert one == two
    data = json.loads(one)
    assert data["templates"] == ["t1", "t2"]
    rc = data["cells"][0]["rule_counts"]["EXC002"]
    assert (rc["applicable"], rc["violations"]) == (1, 1)
    assert [rc["low"], rc["high"]] == pytest.approx(list(wilson(1, 1)))
    assert data["model_stats"][0]["model"] == "b"


def test_empty_aggregate() -> None:
    s = aggregate(iter(()))
    assert s.cells == () and s.ranking == () and s.n == 0
    assert json.loads(s.to_json())["models"] == []
