from __future__ import annotations

from harness.findings import Severity
from harness.registry import Example
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
        "id: t\ntemplate: |\n  RULES:\n  - Use UUID for all ids\ncases: [{name: a}]\n"
        "expect:\n  rules:\n    - {code: IDS001, instruction: Use UUID for all ids}\n",
        "id: t\ntemplate: |\n  Fields:\n  - name\n  - email\ncases: [{name: a}]\n",
        "id: t\nvariables: {entity: {default: User}}\ntemplate: |\n  Rules:\n"
        "  - Name the read model {{ entity }}Read\ncases: [{name: a}]\n"
        "expect:\n  rules:\n    - {code: PYD004, instruction: Name the read model UserRead}\n",
    )
    invalid = (
        Example(
            "id: t\ntemplate: |\n  RULES:\n  - Use UUID for all ids\n  - Keep it short\n"
            "cases: [{name: a}]\n"
            "expect:\n  rules:\n    - {code: IDS001, instruction: Use UUID for all ids}\n",
            line=5,
        ),
        Example(
            "id: t\ntemplate: |\n  Write a model.\n\n  ## Constraints\n  1. Use UUID ids\n"
            "cases: [{name: a}]\n",
            line=6,
        ),
        Example(
            "id: t\nsystem: |\n  Requirements:\n  * Pydantic v2 only\ntemplate: Write\n"
            "cases: [{name: a}]\n",
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
