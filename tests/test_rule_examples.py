"""Every rule's `valid` / `invalid` examples become tests here, collected automatically."""

from __future__ import annotations

import re

import pytest

from harness.code.engine import RuleSet, check_unit
from harness.code.rule import CodeRule
from harness.code.unit import CodeUnit, Role
from harness.registry import DOC_SECTIONS, Example, all_rules

CODE_RULES = {c: r for c, r in all_rules().items() if issubclass(r, CodeRule)}


def _examples(kind: str) -> list:
    params = []
    for code, rule in CODE_RULES.items():
        for i, ex in enumerate(getattr(rule, kind)):
            example = ex if isinstance(ex, Example) else Example(ex)
            params.append(pytest.param(rule, example, id=f"{code}-{kind}-{i}"))
    return params


def _unit(rule: type[CodeRule], ex: Example) -> CodeUnit:
    if ex.role is not None:
        role = Role(ex.role)
    elif rule.roles:
        role = sorted(rule.roles)[0]
    else:
        role = Role.OTHER
    return CodeUnit(source=ex.code, path="example.py", role=role)


@pytest.mark.parametrize(("rule", "example"), _examples("valid"))
def test_valid_example_passes(rule: type[CodeRule], example: Example) -> None:
    result = check_unit(_unit(rule, example), RuleSet((rule,)))
    assert result.status == "ok", result.parse_error
    assert [f for f in result.findings if f.code == rule.code] == []


@pytest.mark.parametrize(("rule", "example"), _examples("invalid"))
def test_invalid_example_fires(rule: type[CodeRule], example: Example) -> None:
    result = check_unit(_unit(rule, example), RuleSet((rule,)))
    assert result.status == "ok", result.parse_error
    hits = [f for f in result.findings if f.code == rule.code]
    assert hits, f"{rule.code} did not fire on:\n{example.code}"
    if example.line is not None:
        assert example.line in [f.line for f in hits], [f.line for f in hits]
    if example.count is not None:
        assert len(hits) == example.count


@pytest.mark.parametrize("rule", list(CODE_RULES.values()), ids=list(CODE_RULES))
def test_rule_is_documented(rule: type[CodeRule]) -> None:
    doc = rule.docs()
    for section in DOC_SECTIONS:
        assert f"## {section}" in doc, f"{rule.code} docs lack '{section}'"
    assert len(rule.valid) >= 3 and len(rule.invalid) >= 3
    assert rule.message and not rule.message.endswith(".")


def _doc_blocks(rule: type[CodeRule], section: str) -> list[str]:
    """The fenced code blocks of one `## section` of a rule's docs."""
    doc = rule.docs()
    start = doc.index(f"## {section}") + len(section) + 3
    end = doc.find("\n## ", start)
    body = doc[start : end if end >= 0 else len(doc)]
    blocks = re.findall(r"```(?:python|py)?\n(.*?)```", body, re.DOTALL)
    assert blocks, f"{rule.code}: no code block under '{section}'"
    return blocks


def _doc_hits(rule: type[CodeRule], code: str) -> list[int]:
    result = check_unit(_unit(rule, Example(code)), RuleSet((rule,)))
    assert result.status == "ok", (rule.code, result.parse_error)
    return [f.line for f in result.findings if f.code == rule.code]


@pytest.mark.parametrize("rule", list(CODE_RULES.values()), ids=list(CODE_RULES))
def test_docs_example_fires_and_use_instead_does_not(rule: type[CodeRule]) -> None:
    for code in _doc_blocks(rule, "Example"):
        assert _doc_hits(rule, code), f"{rule.code}: its docs' Example does not fire:\n{code}"
    for code in _doc_blocks(rule, "Use instead"):
        assert not _doc_hits(rule, code), f"{rule.code}: its docs' Use instead fires:\n{code}"
