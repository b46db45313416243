"""Run template rules over loaded templates.

Only the template rule package is imported. Rules that need every registered code get them
from `known_rule_codes()`, which reads code rule modules without importing them (so
`harness lint` never loads libcst).
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from harness.findings import Finding
from harness.registry import CODE_RE, RULE_PACKAGES, TEMPLATE_RULES, all_rules
from harness.registry import select as select_rules
from harness.templates.lint.base import LintContext, LintSettings, TemplateRule
from harness.templates.spec import TemplateSpec


def template_rules(
    select: Sequence[str] | None = None, ignore: Sequence[str] | None = None
) -> tuple[type[TemplateRule], ...]:
    """Template rules, filtered by code prefixes or names like `--select` / `--ignore`."""
    rules = {c: r for c, r in all_rules(TEMPLATE_RULES).items() if issubclass(r, TemplateRule)}
    chosen = select_rules(rules, list(select or []) or None, list(ignore or []) or None)
    return tuple(r for r in chosen.values() if issubclass(r, TemplateRule))


def _declared_codes(path: Path) -> set[str]:
    """Codes declared as `code = "XXX000"` in rule class bodies of one module file."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return set()
    codes = set()
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for stmt in node.body:
            if (
                isinstance(stmt, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "code" for t in stmt.targets)
                and isinstance(stmt.value, ast.Constant)
                and isinstance(stmt.value.value, str)
                and CODE_RE.match(stmt.value.value)
            ):
                codes.add(stmt.value.value)
    return codes


@cache
def known_rule_codes() -> frozenset[str]:
    """Every registered rule code. Uses the live registry when the code rules are already
    imported; otherwise reads their modules' class bodies (no import, no libcst)."""
    if any(name in sys.modules for name in RULE_PACKAGES if name != TEMPLATE_RULES):
        return frozenset(all_rules())
    codes = set(all_rules(TEMPLATE_RULES))
    for package in RULE_PACKAGES:
        if package == TEMPLATE_RULES:
            continue
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            for file in Path(location).rglob("*.py"):
                codes |= _declared_codes(file)
    return frozenset(codes)


def lint_spec(
    spec: TemplateSpec, rules: Iterable[type[TemplateRule]], settings: LintSettings
) -> list[Finding]:
    """All findings of `rules` on one template, sorted by position then code."""
    ctx = LintContext(spec, settings)
    findings: list[Finding] = []
    for rule_cls in rules:
        rule = rule_cls(ctx)
        rule.check()
        findings.extend(rule.findings)
    return sorted(set(findings), key=lambda f: (f.path, f.line, f.col, f.code, f.message))
