from __future__ import annotations

from harness.registry import Invalid, Valid
from harness.templates.lint.base import TemplateRule


class CaseMissingRequiredVariable(TemplateRule):
    """
    ## What it does
    Flags a case that does not set a declared variable that is required and has no default.

    ## Why is this bad?
    The case cannot render: every model run of it would fail before a request is sent.

    ## Example
    ```yaml
    variables:
      entity: {}
      fields: {type: list}
    cases:
      - name: user
        vars: {entity: User}
    ```

    ## Use instead
    ```yaml
    cases:
      - name: user
        vars: {entity: User, fields: [email, name]}
    ```
    """

    code = "TPL004"
    name = "case-missing-required-variable"
    message = "Case does not set a required variable"
    valid = (
        Valid("""
            id: t
            variables: {entity: {}}
            template: 'Write {{ entity }}'
            cases: [{name: a, vars: {entity: User}}]
            """),
        Valid("""
            id: t
            variables: {entity: {default: User}}
            template: 'Write {{ entity }}'
            cases: [{name: a}]
            """),
        Valid("""
            id: t
            variables: {note: {required: false}}
            template: 'Write{% if note %} {{ note }}{% endif %}'
            cases: [{name: a}]
            """),
    )
    invalid = (
        Invalid(
            """
            id: t
            variables: {entity: {}}
            template: 'Write {{ entity }}'
            cases:
              - name: a
                vars: {entity: User}
              - name: b
                vars: {}
            """,
            line=8,
        ),
        Invalid(
            """
            id: t
            variables: {entity: {}}
            template: 'Write {{ entity }}'
            cases:
              - name: a
            """,
            line=5,
        ),
        Invalid(
            """
            id: t
            variables: {a: {}, b: {}}
            template: '{{ a }} {{ b }}'
            cases:
              - name: one
                vars:
                  a: x
            """,
            line=6,
            count=1,
        ),
    )

    def check(self) -> None:
        for i, case in enumerate(self.spec.cases):
            for name in self.ctx.missing_in(case):
                self.report(
                    key=f"cases.{i}.vars",
                    message=f"Case `{case.name}` does not set required variable `{name}`",
                )
