from __future__ import annotations

from harness.findings import Severity
from harness.registry import Invalid, Valid
from harness.templates.lint.base import TemplateRule


class CaseSetsUnknownVariable(TemplateRule):
    """
    ## What it does
    Flags a case variable that the template neither declares nor uses.

    ## Why is this bad?
    It is almost always a misspelling (`entitiy:`) or a leftover from an older version of the
    template. The case then tests something other than what its author thinks.

    ## Example
    ```yaml
    variables:
      entity: {}
    cases:
      - name: user
        vars: {entity: User, feilds: [email]}
    ```

    ## Use instead
    ```yaml
    variables:
      entity: {}
      fields: {type: list}
    cases:
      - name: user
        vars: {entity: User, fields: [email]}
    ```
    """

    code = "TPL005"
    name = "case-sets-unknown-variable"
    message = "Case sets a variable the template neither declares nor uses"
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
            variables: {entity: {default: U}}
            template: 'Write {{ entity }}'
            cases: [{name: a}]
            """),
        Valid("""
            id: t
            template: 'Write {{ entity }}'
            cases: [{name: a, vars: {entity: U}}]
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
                vars:
                  entity: User
                  feilds: [id]
            """,
            line=8,
        ),
        Invalid(
            """
            id: t
            template: Write a model
            cases:
              - name: a
                vars: {entity: U}
            """,
            line=5,
        ),
        Invalid(
            """
            id: t
            variables: {entity: {}}
            template: 'Write {{ entity }}'
            cases:
              - name: a
                vars: {entity: A}
              - name: b
                vars:
                  entity: B
                  extra: 1
            """,
            line=10,
            count=1,
        ),
    )

    def check(self) -> None:
        if not self.ctx.parses:
            return
        known = set(self.spec.variables) | self.ctx.used_names
        for i, case in enumerate(self.spec.cases):
            for name in case.vars:
                if name not in known:
                    self.report(
                        key=f"cases.{i}.vars.{name}",
                        message=(
                            f"Case `{case.name}` sets `{name}`, which the template neither "
                            "declares nor uses"
                        ),
                    )
