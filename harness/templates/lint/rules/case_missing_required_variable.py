from __future__ import annotations

from harness.registry import Example
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
        "id: t\nvariables: {entity: {}}\ntemplate: 'Write {{ entity }}'\n"
        "cases: [{name: a, vars: {entity: User}}]\n",
        "id: t\nvariables: {entity: {default: User}}\ntemplate: 'Write {{ entity }}'\n"
        "cases: [{name: a}]\n",
        "id: t\nvariables: {note: {required: false}}\n"
        "template: 'Write{% if note %} {{ note }}{% endif %}'\ncases: [{name: a}]\n",
    )
    invalid = (
        Example(
            "id: t\nvariables: {entity: {}}\ntemplate: 'Write {{ entity }}'\ncases:\n"
            "  - name: a\n    vars: {entity: User}\n  - name: b\n    vars: {}\n",
            line=8,
        ),
        Example(
            "id: t\nvariables: {entity: {}}\ntemplate: 'Write {{ entity }}'\ncases:\n  - name: a\n",
            line=5,
        ),
        Example(
            "id: t\nvariables: {a: {}, b: {}}\ntemplate: '{{ a }} {{ b }}'\ncases:\n"
            "  - name: one\n    vars:\n      a: 1\n",
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
