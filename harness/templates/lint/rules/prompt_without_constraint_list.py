from __future__ import annotations

from harness.findings import Severity
from harness.registry import Example
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
        "id: t\ntemplate: |\n  Write a model.\n  RULES:\n  - Use UUID ids\n  - Use Pydantic v2\n"
        "cases: [{name: a}]\n",
        "id: t\ntemplate: |\n  Write a model.\n  1. Use UUID ids\n  2. Use Pydantic v2\n"
        "cases: [{name: a}]\n",
        "id: t\nvariables: {rules: {type: list}}\ntemplate: |\n"
        "  {% for r in rules %}\n  * {{ r }}\n  {% endfor %}\n"
        "cases: [{name: a, vars: {rules: [a, b]}}]\n",
    )
    invalid = (
        Example("id: t\ntemplate: |\n  Write me an endpoint.\ncases: [{name: a}]\n", line=2),
        Example(
            "id: t\ntemplate: |\n  Write a model.\n  - Use UUID ids\ncases: [{name: a}]\n",
            line=2,
        ),
        Example(
            "id: t\nsystem: You are a senior engineer.\n\ntemplate: Make it good, and fast.\n"
            "cases: [{name: a}]\n",
            line=4,
        ),
    )

    def check(self) -> None:
        rendered = [r.prompt.text for r in self.ctx.rendered if r.prompt is not None]
        if rendered and all(len(list_items(text)) < MIN_ITEMS for text in rendered):
            self.report(key="template")
