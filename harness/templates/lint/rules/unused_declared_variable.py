from __future__ import annotations

from harness.findings import Severity
from harness.registry import Invalid, Valid
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
        Valid("""
            id: t
            variables: {entity: {}}
            template: 'Write {{ entity }}'
            cases: [{name: a, vars: {entity: User}}]
            """),
        Valid("""
            id: t
            variables: {persona: {default: x}}
            system: 'You are {{ persona }}'
            template: Write
            cases: [{name: a}]
            """),
        Valid("""
            id: t
            variables: {fields: {type: list}}
            template: |
              {% for f in fields %}{{ f }}{% endfor %}
            cases: [{name: a, vars: {fields: [id]}}]
            """),
    )
    invalid = (
        Invalid(
            """
            id: t
            variables:
              entity: {}
              table: {default: t}
            template: 'Write {{ entity }}'
            cases: [{name: a, vars: {entity: U}}]
            """,
            line=4,
        ),
        Invalid(
            """
            id: t
            variables:
              entity: {default: U}
            template: Write a model
            cases: [{name: a}]
            """,
            line=3,
        ),
        Invalid(
            """
            id: t
            variables:
              fields: {type: list, default: []}
            template: '{% for f in field %}{{ f }}{% endfor %}'
            cases: [{name: a, vars: {field: [x]}}]
            """,
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
