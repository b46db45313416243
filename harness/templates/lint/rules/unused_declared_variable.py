from __future__ import annotations

from harness.findings import Severity
from harness.registry import Example
from harness.templates.lint.base import TemplateRule


class UnusedDeclaredVariable(TemplateRule):
    """
    ## What it does
    Flags a variable declared under `variables:` that neither `system` nor `template` uses.

    ## Why is this bad?
    Cases fill it in for nothing, and readers assume the prompt depends on it. Usually the
    template was edited and the variable was left behind, or its name is misspelled.

    ## Example
    ```yaml
    variables:
      entity: {}
      table: {}
    template: |
      Write a {{ entity }} model.
    ```

    ## Use instead
    ```yaml
    variables:
      entity: {}
    template: |
      Write a {{ entity }} model.
    ```
    """

    code = "TPL003"
    name = "unused-declared-variable"
    message = "Variable is declared but never used"
    severity = Severity.WARNING
    valid = (
        "id: t\nvariables: {entity: {}}\ntemplate: 'Write {{ entity }}'\n"
        "cases: [{name: a, vars: {entity: User}}]\n",
        "id: t\nvariables: {persona: {default: x}}\nsystem: 'You are {{ persona }}'\n"
        "template: Write\ncases: [{name: a}]\n",
        "id: t\nvariables: {fields: {type: list}}\ntemplate: |\n"
        "  {% for f in fields %}{{ f }}{% endfor %}\ncases: [{name: a, vars: {fields: [id]}}]\n",
    )
    invalid = (
        Example(
            "id: t\nvariables:\n  entity: {}\n  table: {default: t}\n"
            "template: 'Write {{ entity }}'\ncases: [{name: a, vars: {entity: U}}]\n",
            line=4,
        ),
        Example(
            "id: t\nvariables:\n  entity: {default: U}\ntemplate: Write a model\n"
            "cases: [{name: a}]\n",
            line=3,
        ),
        Example(
            "id: t\nvariables:\n  fields: {type: list, default: []}\n"
            "template: '{% for f in field %}{{ f }}{% endfor %}'\n"
            "cases: [{name: a, vars: {field: [x]}}]\n",
            line=3,
        ),
    )

    def check(self) -> None:
        if not self.ctx.parses:
            return
        for name in self.spec.variables:
            if name not in self.ctx.used_names:
                self.report(
                    key=f"variables.{name}",
                    message=f"`{name}` is declared under `variables:` but never used",
                )
