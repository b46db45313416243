from __future__ import annotations

from harness.findings import Severity
from harness.registry import Invalid, Valid
from harness.templates.lint.base import TemplateRule
from harness.templates.lint.text import list_items

MIN_ITEMS = 2


class PromptWithoutConstraintList(TemplateRule):
    """
    ## What it does
    Flags a conversational prompt: one without a bullet or numbered list of explicit
    constraints (at least two items).

    ## Why is this bad?
    "Write me an endpoint for users" leaves every decision to the model: Pydantic v1 or v2,
    integer or UUID ids, `session.query()` or `select()`. Each sample decides differently,
    scores swing between runs, and nothing in the prompt can be linked to a rule check.

    ## Example
    ```yaml
    template: |
      Write me an endpoint for {{ entity }}.
    ```

    ## Use instead
    ```yaml
    template: |
      Write a FastAPI router for {{ entity }}.

      RULES:
      - Use UUID for all ids
      - Use `response_model=` on every route
    ```
    """

    code = "TPL008"
    name = "prompt-without-constraint-list"
    message = "Prompt has no bullet or numbered list of explicit constraints"
    severity = Severity.WARNING
    valid = (
        Valid("""
            id: t
            template: |
              Write a model.
              RULES:
              - Use UUID ids
              - Use Pydantic v2
            cases: [{name: a}]
            """),
        Valid("""
            id: t
            template: |
              Write a model.
              1. Use UUID ids
              2. Use Pydantic v2
            cases: [{name: a}]
            """),
        Valid("""
            id: t
            variables: {rules: {type: list}}
            template: |
              {% for r in rules %}
              * {{ r }}
              {% endfor %}
            cases: [{name: a, vars: {rules: [a, b]}}]
            """),
    )
    invalid = (
        Invalid(
            """
            id: t
            template: |
              Write me an endpoint.
            cases: [{name: a}]
            """,
            line=2,
        ),
        Invalid(
            """
            id: t
            template: |
              Write a model.
              - Use UUID ids
            cases: [{name: a}]
            """,
            line=2,
        ),
        Invalid(
            """
            id: t
            system: You are a senior engineer.

            template: Make it good, and fast.
            cases: [{name: a}]
            """,
            line=4,
        ),
    )

    def check(self) -> None:
        rendered = [r.prompt.text for r in self.ctx.rendered if r.prompt is not None]
        if rendered and all(len(list_items(text)) < MIN_ITEMS for text in rendered):
            self.report(key="template")
