from __future__ import annotations

from harness.findings import Severity
from harness.registry import Invalid, Valid
from harness.templates.lint.base import TemplateRule
from harness.templates.lint.text import item_pattern, normalize, rules_list


class InstructionWithoutExpectedRule(TemplateRule):
    """
    ## What it does
    Flags an item of the template's RULES list (the list under a `RULES:`, `Constraints:` or
    `Requirements:` heading) that no `expect.rules` entry names as its `instruction:`.

    ## Why is this bad?
    An instruction nobody checks is a silent wish: when models ignore it, no score moves and
    no report says so. Either link it to the rule that checks it or move it out of the list.

    ## Example
    ```yaml
    template: |
      RULES:
      - Use UUID for all ids
      - Use `select()`, not `session.query()`
    expect:
      rules:
        - {code: IDS001, instruction: Use UUID for all ids}
    ```

    ## Use instead
    ```yaml
    expect:
      rules:
        - {code: IDS001, instruction: Use UUID for all ids}
        - {code: SQA006, instruction: "Use `select()`, not `session.query()`"}
    ```
    """

    code = "TPL010"
    name = "instruction-without-expected-rule"
    message = "Instruction in the RULES list is not checked by any expected rule"
    severity = Severity.INFO
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
              Fields:
              - name
              - email
            cases: [{name: a}]
            """),
        Valid("""
            id: t
            variables: {entity: {default: User}}
            template: |
              Rules:
              - Name the read model {{ entity }}Read
            cases: [{name: a}]
            expect:
              rules:
                - {code: PYD004, instruction: Name the read model UserRead}
            """),
    )
    invalid = (
        Invalid(
            """
            id: t
            template: |
              RULES:
              - Use UUID for all ids
              - Keep it short
            cases: [{name: a}]
            expect:
              rules:
                - {code: IDS001, instruction: Use UUID for all ids}
            """,
            line=5,
        ),
        Invalid(
            """
            id: t
            template: |
              Write a model.

              ## Constraints
              1. Use UUID ids
            cases: [{name: a}]
            """,
            line=6,
        ),
        Invalid(
            """
            id: t
            system: |
              Requirements:
              * Pydantic v2 only
            template: Write
            cases: [{name: a}]
            """,
            line=4,
        ),
    )

    def check(self) -> None:
        instructions = [normalize(r.instruction) for r in self.spec.expect.rules if r.instruction]
        for field in self.ctx.fields:
            for item in rules_list(field.source):
                text = normalize(item.text)
                pattern = item_pattern(item.text)
                if any(i in text or pattern.fullmatch(i) for i in instructions):
                    continue
                self.report(
                    line=field.file_line(item.rel_line),
                    col=field.first_col,
                    message=(
                        f"Instruction {item.text.strip()!r} is not checked by any expected rule"
                    ),
                )
