from __future__ import annotations

import re

from jinja2 import nodes

from harness.registry import Invalid, Valid
from harness.templates.lint.base import TemplateRule, undeclared_names


class UndeclaredTemplateVariable(TemplateRule):
    """
    ## What it does
    Flags a variable the template reads that is not declared under `variables:`.

    ## Why is this bad?
    Undeclared variables have no type, no description and no default, so a case that forgets
    them fails to render, and readers cannot tell what the template needs.

    ## Example
    ```yaml
    variables:
      entity: {description: Model name}
    template: |
      Write a {{ entity }} model with fields {{ fields }}.
    ```

    ## Use instead
    ```yaml
    variables:
      entity: {description: Model name}
      fields: {type: list, description: Field names}
    template: |
      Write a {{ entity }} model with fields {{ fields }}.
    ```
    """

    code = "TPL002"
    name = "undeclared-template-variable"
    message = "Variable is used but not declared under `variables:`"
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
              {% for f in fields %}{{ f }}{{ loop.index }}{% endfor %}
            cases: [{name: a, vars: {fields: [id]}}]
            """),
        Valid("""
            id: t
            template: |
              {% set n = 3 %}{{ n }} {{ range(2) | list }}
            cases: [{name: a}]
            """),
    )
    invalid = (
        Invalid(
            """
            id: t
            variables: {entity: {}}
            template: |
              Write {{ entity }}
              with {{ fields }}
            cases: [{name: a, vars: {entity: U, fields: x}}]
            """,
            line=5,
        ),
        Invalid(
            """
            id: t
            template: 'Write {{ entity }}'
            cases: [{name: a}]
            """,
            line=2,
        ),
        Invalid(
            """
            id: t
            system: |
              You are {{ persona }}
            template: Write
            cases: [{name: a}]
            """,
            line=3,
        ),
    )

    def check(self) -> None:
        declared = set(self.spec.variables)
        for field in self.ctx.fields:
            if field.ast is None:
                continue
            unknown = undeclared_names(field.ast) - declared
            reported: set[str] = set()
            for node in field.ast.find_all(nodes.Name):
                if node.ctx != "load" or node.name not in unknown or node.name in reported:
                    continue
                reported.add(node.name)
                line = field.file_line(node.lineno)
                lines = field.source_lines
                text = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
                found = re.search(rf"\b{re.escape(node.name)}\b", text)
                col = (field.first_col + found.start()) if found else None
                self.report(
                    line=line,
                    col=col,
                    message=f"`{node.name}` is used but not declared under `variables:`",
                )
