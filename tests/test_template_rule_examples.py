"""Every template rule's `valid` / `invalid` examples become tests here, collected automatically."""

from __future__ import annotations

import pytest

from harness.findings import Finding
from harness.registry import DOC_SECTIONS, TEMPLATE_RULES, Example, all_rules
from harness.templates.lint.base import LintSettings, TemplateRule
from harness.templates.lint.engine import lint_spec
from harness.templates.loader import parse_template

TEMPLATE_RULE_CLASSES = {
    c: r for c, r in all_rules(TEMPLATE_RULES).items() if issubclass(r, TemplateRule)
}


def _examples(kind: str) -> list:
    params = []
    for code, rule in TEMPLATE_RULE_CLASSES.items():
        for i, ex in enumerate(getattr(rule, kind)):
            example = ex if isinstance(ex, Example) else Example(ex)
            params.append(pytest.param(rule, example, id=f"{code}-{kind}-{i}"))
    return params


def _lint(rule: type[TemplateRule], example: Example) -> list[Finding]:
    spec = parse_template(example.code, "example.yaml")
    return [f for f in lint_spec(spec, (rule,), LintSettings()) if f.code == rule.code]


@pytest.mark.parametrize(("rule", "example"), _examples("valid"))
def test_valid_example_passes(rule: type[TemplateRule], example: Example) -> None:
    assert _lint(rule, example) == []


@pytest.mark.parametrize(("rule", "example"), _examples("invalid"))
def test_invalid_example_fires(rule: type[TemplateRule], example: Example) -> None:
    hits = _lint(rule, example)
    assert hits, f"{rule.code} did not fire on:\n{example.code}"
    assert all(f.path == "example.yaml" for f in hits)
    if example.line is not None:
        assert example.line in [f.line for f in hits], [(f.line, f.message) for f in hits]
    if example.count is not None:
        assert len(hits) == example.count, [(f.line, f.message) for f in hits]


@pytest.mark.parametrize(
    "rule", list(TEMPLATE_RULE_CLASSES.values()), ids=list(TEMPLATE_RULE_CLASSES)
)
def test_rule_is_documented(rule: type[TemplateRule]) -> None:
    doc = rule.docs()
    for section in DOC_SECTIONS:
        assert f"## {section}" in doc, f"{rule.code} docs lack '{section}'"
    assert len(rule.valid) >= 3 and len(rule.invalid) >= 3
    assert rule.message and not rule.message.endswith(".")
    assert rule.code.startswith("TPL")
