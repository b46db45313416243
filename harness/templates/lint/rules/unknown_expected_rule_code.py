from __future__ import annotations

from harness.registry import Invalid, Valid
from harness.templates.lint.base import TemplateRule
from harness.templates.lint.engine import known_rule_codes

#: Ruff findings are expected as `ruff:<CODE>`; ruff owns those codes.
RUFF_PREFIX = "RUFF:"


class UnknownExpectedRuleCode(TemplateRule):
    """
    ## What it does
    Flags a code under `expect.rules` that is not a registered rule (see `harness rules`).
    Ruff codes written as `ruff:<CODE>` are accepted.

    ## Why is this bad?
    A misspelled or retired code is never reported, so it always "passes" and inflates the
    template's score.

    ## Example
    ```yaml
    expect:
      rules: [PYD040]
    ```

    ## Use instead
    ```yaml
    expect:
      rules: [PYD004]
    ```
    """

    code = "TPL011"
    name = "unknown-expected-rule-code"
    message = "Expected rule code is not a registered rule"
    valid = (
        Valid("""
            id: t
            template: Write
            cases: [{name: a}]
            expect: {rules: [EXC002]}
            """),
        Valid("""
            id: t
            template: Write
            cases: [{name: a}]
            expect: {rules: ['ruff:F821']}
            """),
        Valid("""
            id: t
            template: Write
            cases: [{name: a}]
            expect:
              rules:
                - {code: tpl001, weight: 2}
            """),
    )
    invalid = (
        Invalid(
            """
            id: t
            template: Write
            cases: [{name: a}]
            expect:
              rules:
                - EXC002
                - XYZ999
            """,
            line=7,
        ),
        Invalid(
            """
            id: t
            template: Write
            cases: [{name: a}]
            expect:
              rules:
                - code: EXC999
                  weight: 2
            """,
            line=6,
        ),
        Invalid(
            """
            id: t
            template: Write
            cases: [{name: a}]
            expect: {rules: [bare-except]}
            """,
            line=4,
        ),
    )

    def check(self) -> None:
        known = None
        for i, rule in enumerate(self.spec.expect.rules):
            if rule.code.startswith(RUFF_PREFIX) and len(rule.code) > len(RUFF_PREFIX):
                continue
            if known is None:
                known = known_rule_codes()
            if rule.code not in known:
                self.report(
                    key=f"expect.rules.{i}.code",
                    message=f"Expected rule code `{rule.code}` is not a registered rule",
                )
