from __future__ import annotations

from harness.registry import Invalid, Valid
from harness.templates.lint.base import TemplateRule


class JinjaSyntaxError(TemplateRule):
    """
    ## What it does
    Flags a `system` or `template` text that is not valid Jinja, at the line of the error.

    ## Why is this bad?
    The template cannot be rendered at all, so no case of it can run against a model.

    ## Example
    ```yaml
    template: |
      Write a model for {{ entity }.
    ```

    ## Use instead
    ```yaml
    template: |
      Write a model for {{ entity }}.
    ```
    """

    code = "TPL001"
    name = "jinja-syntax-error"
    message = "Jinja syntax error"
    valid = (
        Valid("""
            id: t
            variables: {entity: {}}
            template: 'Write {{ entity }}'
            cases: [{name: a, vars: {entity: User}}]
            """),
        Valid("""
            id: t
            variables: {fields: {type: list}}
            template: |
              {% for f in fields %}- {{ f }}
              {% endfor %}
            cases: [{name: a, vars: {fields: [id]}}]
            """),
        Valid("""
            id: t
            system: You write Python.
            template: Write a model
            cases: [{name: a}]
            """),
    )
    invalid = (
        Invalid(
            """
            id: t
            variables: {entity: {}}
            template: |
              Write
              {{ entity }
            cases: [{name: a, vars: {entity: User}}]
            """,
            line=5,
        ),
        Invalid(
            """
            id: t
            template: |
              {% if x %}
              yes
            cases: [{name: a, vars: {x: 1}}]
            """,
            line=3,
        ),
        Invalid(
            """
            id: t
            system: |
              You {% for %} write
            template: Write
            cases: [{name: a}]
            """,
            line=3,
        ),
    )

    def check(self) -> None:
        for field in self.ctx.fields:
            if field.syntax_error is not None:
                exc = field.syntax_error
                self.report(
                    line=field.file_line(exc.lineno),
                    message=f"Jinja syntax error in `{field.field}`: {exc.message}",
                )
