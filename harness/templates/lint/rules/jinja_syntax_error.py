from __future__ import annotations

from harness.registry import Example
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
        "id: t\nvariables: {entity: {}}\ntemplate: 'Write {{ entity }}'\n"
        "cases: [{name: a, vars: {entity: User}}]\n",
        "id: t\nvariables: {fields: {type: list}}\ntemplate: |\n"
        "  {% for f in fields %}- {{ f }}\n  {% endfor %}\n"
        "cases: [{name: a, vars: {fields: [id]}}]\n",
        "id: t\nsystem: You write Python.\ntemplate: Write a model\ncases: [{name: a}]\n",
    )
    invalid = (
        Example(
            "id: t\nvariables: {entity: {}}\ntemplate: |\n  Write\n  {{ entity }\n"
            "cases: [{name: a, vars: {entity: User}}]\n",
            line=5,
        ),
        Example(
            "id: t\ntemplate: |\n  {% if x %}\n  yes\ncases: [{name: a, vars: {x: 1}}]\n",
            line=3,
        ),
        Example(
            "id: t\nsystem: |\n  You {% for %} write\ntemplate: Write\ncases: [{name: a}]\n",
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
