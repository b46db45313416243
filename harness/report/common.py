"""Small helpers shared by the report writers: verdicts, formatting, rule docs."""

from __future__ import annotations

from collections.abc import Mapping

from harness.record import UNSCORED, SampleResult
from harness.registry import all_rules
from harness.sample import RUFF_RULE

EXTRACTION_FAILURES = frozenset(
    {"no-code", "truncated", "parse-error", "check-error", "nothing-checked"}
)


def unusable_counts(sc: Mapping[str, int], sep: str = "/") -> str:
    """`no code / truncated / parse error`, and check errors when there are any."""
    text = sep.join(str(sc[k]) for k in ("no-code", "truncated", "parse-error"))
    text += f" +{sc['check-error']} ce" if sc.get("check-error") else ""
    return text + (f" +{sc['nothing-checked']} nx" if sc.get("nothing-checked") else "")


def sample_failed(r: SampleResult, min_scores: Mapping[str, float]) -> bool:
    """A scored sample below its template's min score, or one whose code could not be used."""
    if r.status in UNSCORED:
        return False
    if r.status in EXTRACTION_FAILURES:
        return True
    if r.template in min_scores:
        return (r.score or 0.0) < min_scores[r.template] or r.blocked
    return not r.passed


def fmt_score(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:.1f}"


def fmt_pct(value: float | None) -> str:
    return "\u2013" if value is None else f"{100 * value:.0f}%"


def fmt_ci(low: float, high: float) -> str:
    return f"[{100 * low:.0f}\u2013{100 * high:.0f}%]"


def fmt_cost(value: float | None) -> str:
    if value is None:
        return "\u2013"
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "\u2013"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"


def rule_name(code: str) -> str:
    """The kebab-case name of a rule code, `ruff` pseudo-rule and `ruff:XXX` codes included."""
    if code == RUFF_RULE:
        return "ruff-errors"
    if code.startswith("ruff:"):
        return code
    rule = all_rules().get(code)
    return rule.name if rule is not None else code


def rule_docs(code: str) -> str:
    """Docs for a code: the rule's docstring, or a pointer to ruff's own docs."""
    if code == RUFF_RULE:
        return (
            "## What it does\nFails when ruff reports an error-level finding (pyflakes `F` "
            "codes such as undefined names, and `E9` syntax errors) in the generated code."
        )
    if code.startswith("ruff:"):
        ruff_code = code.removeprefix("ruff:")
        return f"A ruff finding. Run `ruff rule {ruff_code}` for its documentation."
    rule = all_rules().get(code)
    if rule is None:
        return "No documentation: this code is not in the rule registry."
    return rule.docs()
