from __future__ import annotations

from harness.registry import Example
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
        "id: t\ntemplate: |\n  RULES:\n  - Use UUID for all ids\ncases: [{name: a}]\n"
        "expect:\n  rules:\n    - {code: IDS001, instruction: Use UUID for all ids}\n",
        "id: t\ntemplate: |\n  - use uuid   for all ids.\ncases: [{name: a}]\n"
        "expect:\n  rules:\n    - {code: IDS001, instruction: Use UUID for all ids}\n",
        "id: t\ntemplate: Write a model\ncases: [{name: a}]\nexpect:\n  rules: [IDS001]\n",
    )
    invalid = (
        Example(
            "id: t\ntemplate: |\n  RULES:\n  - Use UUID for ids\ncases: [{name: a}]\n"
            "expect:\n  rules:\n    - code: IDS001\n      instruction: Use UUID for all ids\n",
            line=9,
        ),
        Example(
            "id: t\ntemplate: Write a model\ncases: [{name: a}]\nexpect:\n  rules:\n"
            "    - {code: IDS001, instruction: Use UUID for all ids}\n",
            line=6,
        ),
        Example(
            "id: t\nvariables: {extra: {default: ''}}\ntemplate: |\n  {{ extra }}\n"
            "cases:\n  - {name: a, vars: {extra: '- Use UUID for all ids'}}\n  - {name: b}\n"
            "expect:\n  rules:\n    - {code: IDS001, instruction: Use UUID for all ids}\n",
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
