from __future__ import annotations

from harness.registry import Invalid, Valid
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
        Valid("""
            id: t
            variables: {entity: {}}
            template: 'Write {{ entity | title }}'
            cases: [{name: a, vars: {entity: user}}]
            """),
        Valid("""
            id: t
            variables: {fields: {type: list}}
            template: '{{ fields | join(", ") }}'
            cases: [{name: a, vars: {fields: [a, b]}}]
            """),
        Valid("""
            id: t
            variables: {entity: {}}
            template: 'Write {{ entity }}'
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
              {{ entity | titlecase }}
            cases: [{name: a, vars: {entity: user}}]
            """,
            line=5,
        ),
        Invalid(
            """
            id: t
            template: |
              {{ ''.__class__.__mro__ }}
            cases: [{name: a}]
            """,
            line=3,
        ),
        Invalid(
            """
            id: t
            variables: {n: {type: integer}}
            template: |
              a
              b
              {{ 10 / n }}
            cases: [{name: ok, vars: {n: 2}}, {name: zero, vars: {n: 0}}]
            """,
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
