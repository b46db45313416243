from __future__ import annotations

from harness.registry import Example
from harness.templates.lint.base import TemplateRule


class TemplateRenderFailure(TemplateRule):
    """
    ## What it does
    Renders every case in the sandbox and flags a case that fails: an attribute the sandbox
    blocks (`''.__class__`), an unknown filter, an undefined name, a runtime error. Cases that
    fail because they miss a required variable are left to `case-missing-required-variable`,
    and templates with a syntax error to `jinja-syntax-error`.

    ## Why is this bad?
    A case that cannot render never reaches a model; in a run it is reported as an error
    instead of a score.

    ## Example
    ```yaml
    template: |
      Write a model for {{ entity | titlecase }}.
    ```

    ## Use instead
    ```yaml
    template: |
      Write a model for {{ entity | title }}.
    ```
    """

    code = "TPL013"
    name = "template-render-failure"
    message = "Case fails to render"
    valid = (
        "id: t\nvariables: {entity: {}}\ntemplate: 'Write {{ entity | title }}'\n"
        "cases: [{name: a, vars: {entity: user}}]\n",
        "id: t\nvariables: {fields: {type: list}}\ntemplate: '{{ fields | join(\", \") }}'\n"
        "cases: [{name: a, vars: {fields: [a, b]}}]\n",
        "id: t\nvariables: {entity: {}}\ntemplate: 'Write {{ entity }}'\ncases: [{name: a}]\n",
    )
    invalid = (
        Example(
            "id: t\nvariables: {entity: {}}\ntemplate: |\n  Write\n  {{ entity | titlecase }}\n"
            "cases: [{name: a, vars: {entity: user}}]\n",
            line=5,
        ),
        Example(
            "id: t\ntemplate: |\n  {{ ''.__class__.__mro__ }}\ncases: [{name: a}]\n",
            line=3,
        ),
        Example(
            "id: t\nvariables: {n: {type: integer}}\ntemplate: |\n  a\n  b\n  {{ 10 / n }}\n"
            "cases: [{name: ok, vars: {n: 2}}, {name: zero, vars: {n: 0}}]\n",
            line=6,
            count=1,
        ),
    )

    def check(self) -> None:
        if not self.ctx.parses:
            return
        # Names the template reads but does not declare are reported by TPL002.
        undeclared = self.ctx.used_names - set(self.spec.variables)
        seen: set[tuple[int | None, str]] = set()
        for result in self.ctx.renders:
            error = result.error
            if error is None or self.ctx.missing_in(result.case):
                continue
            if undeclared - set(result.case.vars) or (error.line, error.message) in seen:
                continue
            seen.add((error.line, error.message))
            self.report(
                line=error.line or self.spec.line_of("template")[0],
                col=error.col,
                message=f"Case `{result.case.name}` fails to render: {error.message}",
            )
