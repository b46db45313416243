from __future__ import annotations

from harness.findings import Severity
from harness.registry import Example
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
        "id: t\nvariables: {entity: {}}\ntemplate: 'Write {{ entity }}'\n"
        "cases: [{name: a, vars: {entity: User}}]\n",
        "id: t\nvariables: {entity: {default: U}}\ntemplate: 'Write {{ entity }}'\n"
        "cases: [{name: a}]\n",
        "id: t\ntemplate: 'Write {{ entity }}'\ncases: [{name: a, vars: {entity: U}}]\n",
    )
    invalid = (
        Example(
            "id: t\nvariables: {entity: {}}\ntemplate: 'Write {{ entity }}'\ncases:\n"
            "  - name: a\n    vars:\n      entity: User\n      feilds: [id]\n",
            line=8,
        ),
        Example(
            "id: t\ntemplate: Write a model\ncases:\n  - name: a\n    vars: {entity: U}\n",
            line=5,
        ),
        Example(
            "id: t\nvariables: {entity: {}}\ntemplate: 'Write {{ entity }}'\ncases:\n"
            "  - name: a\n    vars: {entity: A}\n  - name: b\n    vars:\n      entity: B\n"
            "      extra: 1\n",
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
