from __future__ import annotations

import re

from harness.findings import Severity
from harness.registry import Invalid, Valid
from harness.templates.lint.base import TemplateRule

#: Phrases that tell the model what shape its answer must have.
OUTPUT_FORMAT = re.compile(
    r"\b(?:output|return|respond with|reply with|answer with|give|produce|print)\s+"
    r"(?:only|just)\b"
    r"|\bonly\s+(?:output|return|respond with|reply with)\b"
    r"|```python"
    r"|\bsingle\s+(?:python\s+)?code\s+(?:block|fence)\b"
    r"|\b(?:no|without(?:\s+any)?)\s+(?:prose|explanations?|commentary)\b",
    re.IGNORECASE,
)


class MissingOutputFormatInstruction(TemplateRule):
    """
    ## What it does
    Flags a template whose rendered prompt never says what the answer must look like, such
    as "Output only the code", "Return only the module" or "Reply with one ```python block".

    ## Why is this bad?
    Without it, models wrap the code in explanations, split it over several blocks or ask
    questions back. Code extraction then fails or picks the wrong block, and the sample
    scores 0 for a reason unrelated to the code itself.

    ## Example
    ```yaml
    template: |
      Write a SQLAlchemy model for {{ entity }}.
    ```

    ## Use instead
    ```yaml
    template: |
      Write a SQLAlchemy model for {{ entity }}.
      Output only the code, in one ```python block.
    ```
    """

    code = "TPL007"
    name = "missing-output-format-instruction"
    message = 'Prompt does not say what the answer must look like (e.g. "Output only the code")'
    severity = Severity.WARNING
    valid = (
        Valid("""
            id: t
            template: |
              Write a model.
              Output only the code.
            cases: [{name: a}]
            """),
        Valid("""
            id: t
            system: Return only a single Python module.
            template: Write a model
            cases: [{name: a}]
            """),
        Valid("""
            id: t
            template: |
              Write a model. Answer with one ```python fenced block,
              no explanations.
            cases: [{name: a}]
            """),
    )
    invalid = (
        Invalid(
            """
            id: t
            template: |
              Write a model.
            cases: [{name: a}]
            """,
            line=2,
        ),
        Invalid(
            """
            id: t
            system: You are helpful.
            template: |
              Please write me an endpoint.
            cases: [{name: a}]
            """,
            line=3,
        ),
        Invalid(
            """
            id: t
            variables: {entity: {}}
            template: |
              Write code for {{ entity }}.
              Output it nicely.
            cases: [{name: a, vars: {entity: U}}]
            """,
            line=3,
        ),
    )

    def check(self) -> None:
        rendered = self.ctx.rendered
        if not rendered:
            return
        texts = [r.prompt.text for r in rendered if r.prompt is not None]
        if not any(OUTPUT_FORMAT.search(text) for text in texts):
            self.report(key="template")
