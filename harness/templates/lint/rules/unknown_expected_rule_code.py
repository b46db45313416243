from __future__ import annotations

from harness.registry import Example
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
        "id: t\ntemplate: Write\ncases: [{name: a}]\nexpect: {rules: [EXC002]}\n",
        "id: t\ntemplate: Write\ncases: [{name: a}]\nexpect: {rules: ['ruff:F821']}\n",
        "id: t\ntemplate: Write\ncases: [{name: a}]\nexpect:\n  rules:\n"
        "    - {code: tpl001, weight: 2}\n",
    )
    invalid = (
        Example(
            "id: t\ntemplate: Write\ncases: [{name: a}]\nexpect:\n  rules:\n    - EXC002\n"
            "    - XYZ999\n",
            line=7,
        ),
        Example(
            "id: t\ntemplate: Write\ncases: [{name: a}]\nexpect:\n  rules:\n"
            "    - code: EXC999\n      weight: 2\n",
            line=6,
        ),
        Example(
            "id: t\ntemplate: Write\ncases: [{name: a}]\nexpect: {rules: [bare-except]}\n",
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
