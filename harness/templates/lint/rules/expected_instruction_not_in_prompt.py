from __future__ import annotations

from harness.registry import Invalid, Valid
from harness.templates.lint.base import TemplateRule
from harness.templates.lint.text import normalize


class ExpectedInstructionNotInPrompt(TemplateRule):
    """
    ## What it does
    Flags an `expect.rules` entry whose `instruction:` text does not appear in the rendered
    prompt of every case (compared ignoring case, whitespace and a trailing period).

    ## Why is this bad?
    Reports say "instruction ignored" when a rule fails and its instruction is in the prompt.
    If the prompt was edited and the instruction is gone, that claim is false, and the rule
    is checked without the model ever having been asked for it.

    ## Example
    ```yaml
    template: |
      RULES:
      - Use UUID for ids
    expect:
      rules:
        - {code: IDS001, instruction: Use UUID for all ids}
    ```

    ## Use instead
    ```yaml
    template: |
      RULES:
      - Use UUID for all ids
    expect:
      rules:
        - {code: IDS001, instruction: Use UUID for all ids}
    ```
    """

    code = "TPL009"
    name = "expected-instruction-not-in-prompt"
    message = "Instruction of an expected rule is not in the rendered prompt"
    valid = (
        Valid("""
            id: t
            template: |
              RULES:
              - Use UUID for all ids
            cases: [{name: a}]
            expect:
              rules:
                - {code: IDS001, instruction: Use UUID for all ids}
            """),
        Valid("""
            id: t
            template: |
              - use uuid   for all ids.
            cases: [{name: a}]
            expect:
              rules:
                - {code: IDS001, instruction: Use UUID for all ids}
            """),
        Valid("""
            id: t
            template: Write a model
            cases: [{name: a}]
            expect:
              rules: [IDS001]
            """),
    )
    invalid = (
        Invalid(
            """
            id: t
            template: |
              RULES:
              - Use UUID for ids
            cases: [{name: a}]
            expect:
              rules:
                - code: IDS001
                  instruction: Use UUID for all ids
            """,
            line=9,
        ),
        Invalid(
            """
            id: t
            template: Write a model
            cases: [{name: a}]
            expect:
              rules:
                - {code: IDS001, instruction: Use UUID for all ids}
            """,
            line=6,
        ),
        Invalid(
            """
            id: t
            variables: {extra: {default: ''}}
            template: |
              {{ extra }}
            cases:
              - {name: a, vars: {extra: '- Use UUID for all ids'}}
              - {name: b}
            expect:
              rules:
                - {code: IDS001, instruction: Use UUID for all ids}
            """,
            line=10,
            count=1,
        ),
    )

    def check(self) -> None:
        renders = [r for r in self.ctx.rendered if r.prompt is not None]
        for i, rule in enumerate(self.spec.expect.rules):
            if not rule.instruction:
                continue
            wanted = normalize(rule.instruction)
            for result in renders:
                assert result.prompt is not None
                if wanted not in normalize(result.prompt.text):
                    self.report(
                        key=f"expect.rules.{i}.instruction",
                        message=(
                            f"Instruction of expected rule `{rule.code}` is not in the rendered "
                            f"prompt of case `{result.case.name}`: {rule.instruction!r}"
                        ),
                    )
                    break
