from __future__ import annotations

from harness.findings import Severity
from harness.registry import Invalid, Valid
from harness.templates.lint.base import TemplateRule


class TemplateDeclaresNoTask(TemplateRule):
    """
    ## What it does
    Notes a template that declares nothing the code must provide: no `expect.provides` and
    no `provides` in any case.

    ## Why is this bad?
    Without it, nothing checks that a reply does the task (TSK001): a reply that writes some
    other code, or almost none, is scored only on the rules that happen to find something to
    check in it.

    ## Example
    ```yaml
    id: order-service
    template: 'Write the async service function cancel_order.'
    cases: [{name: a}]
    ```

    ## Use instead
    ```yaml
    id: order-service
    template: 'Write the async service function cancel_order.'
    expect:
      provides:
        - {kind: async-function, name: cancel_order}
    cases: [{name: a}]
    ```
    """

    code = "TPL015"
    name = "template-declares-no-task"
    message = "Template declares nothing the code must provide (`expect.provides`)"
    severity = Severity.INFO
    valid = (
        Valid("""
            id: t
            template: 'Write the service function cancel_order.'
            expect:
              provides: [{kind: function, name: cancel_order}]
            cases: [{name: a}]
            """),
        Valid("""
            id: t
            template: 'Write a {{ entity }} model.'
            variables: {entity: {}}
            cases:
              - name: a
                vars: {entity: User}
                provides: [{kind: pydantic-model, name: User}]
            """),
        Valid("""
            id: t
            template: 'Write a router.'
            expect:
              provides: [{kind: route, method: GET, path: /items}]
            cases: [{name: a}]
            """),
    )
    invalid = (
        Invalid(
            """
            id: t
            template: 'Write the service function cancel_order.'
            cases: [{name: a}]
            """,
            line=1,
        ),
        Invalid(
            """
            id: t
            template: 'Write a model.'
            expect:
              rules: [PYD001]
            cases: [{name: a}]
            """,
            line=1,
        ),
        Invalid(
            """
            id: t
            template: 'Write a model.'
            expect:
              provides: []
            cases: [{name: a}, {name: b}]
            """,
            line=1,
        ),
    )

    def check(self) -> None:
        if self.spec.expect.provides or any(case.provides for case in self.spec.cases):
            return
        self.report(key="id")
