from __future__ import annotations

import re

from harness.findings import Severity
from harness.registry import Example
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
        "id: t\ntemplate: |\n  Write a model.\n  Output only the code.\ncases: [{name: a}]\n",
        "id: t\nsystem: Return only a single Python module.\ntemplate: Write a model\n"
        "cases: [{name: a}]\n",
        "id: t\ntemplate: |\n  Write a model. Answer with one ```python fenced block,\n"
        "  no explanations.\ncases: [{name: a}]\n",
    )
    invalid = (
        Example("id: t\ntemplate: |\n  Write a model.\ncases: [{name: a}]\n", line=2),
        Example(
            "id: t\nsystem: You are helpful.\ntemplate: |\n  Please write me an endpoint.\n"
            "cases: [{name: a}]\n",
            line=3,
        ),
        Example(
            "id: t\nvariables: {entity: {}}\ntemplate: |\n  Write code for {{ entity }}.\n"
            "  Output it nicely.\ncases: [{name: a, vars: {entity: U}}]\n",
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
