from __future__ import annotations

import os

from harness.findings import Severity
from harness.registry import Invalid, Valid
from harness.templates.lint.base import TemplateRule
from harness.templates.render import RenderedPrompt

#: Characters per token for the cheap estimate.
CHARS_PER_TOKEN = 4
#: Count exactly only when the estimate is this close (relative) to the budget.
EXACT_MARGIN = 0.25

_LONG_TEXT = "  " + "Describe every field of the entity carefully. " * 1000 + "\n"


def estimate_tokens(prompt: RenderedPrompt) -> int:
    return sum(len(m.content) for m in prompt.messages) // CHARS_PER_TOKEN


def count_tokens(prompt: RenderedPrompt, models: tuple[str, ...]) -> int:
    """The largest token count of the prompt over the configured models (imports litellm)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    messages = [m.as_dict() for m in prompt.messages]
    return max(litellm.token_counter(model=model, messages=messages) for model in models)


class PromptOverTokenBudget(TemplateRule):
    """
    ## What it does
    Flags a case whose rendered prompt is longer than `lint.token_budget` tokens.

    Tokens are first estimated as characters / 4, which needs no tokenizer. Only when that
    estimate is within 25% of the budget, and models are configured, are the messages
    counted exactly with each configured model's tokenizer (`litellm.token_counter`); the
    largest count decides. With no models configured the estimate decides.

    ## Why is this bad?
    Long prompts cost more on every sample of every model, leave less room for the answer,
    and bury the instructions that matter. A prompt that grew past the budget usually
    carries pasted context that belongs in a shorter summary.

    ## Example
    ```yaml
    template: |
      Write a model for {{ entity }}.
      (followed by 30,000 characters of pasted documentation)
    ```

    ## Use instead
    ```yaml
    template: |
      Write a model for {{ entity }}.
      (the five facts from the documentation the model needs)
    ```
    """

    code = "TPL012"
    name = "prompt-over-token-budget"
    message = "Rendered prompt is over the token budget"
    severity = Severity.WARNING
    valid = (
        Valid("""
            id: t
            template: Write a model
            cases: [{name: a}]
            """),
        Valid("""
            id: t
            system: You are terse.
            template: |
              Write a model.
              Output only code.
            cases: [{name: a}]
            """),
        Valid("""
            id: t
            variables: {entity: {}}
            template: 'Write {{ entity }}'
            cases: [{name: a, vars: {entity: User}}]
            """),
    )
    invalid = (
        Invalid(f"id: t\ntemplate: |\n{_LONG_TEXT}cases: [{{name: a}}]\n", line=2),
        Invalid(
            f"id: t\nsystem: |\n{_LONG_TEXT}template: Write a model\ncases: [{{name: a}}]\n",
            line=4,
        ),
        Invalid(
            "id: t\nvariables: {doc: {}}\ntemplate: '{{ doc }}'\ncases:\n"
            f"  - name: short\n    vars: {{doc: hi}}\n  - name: long\n    vars:\n      doc: |\n"
            f"      {_LONG_TEXT}",
            line=7,
            count=1,
        ),
    )

    def check(self) -> None:
        budget = self.settings.token_budget
        for result in self.ctx.rendered:
            assert result.prompt is not None
            tokens = estimate_tokens(result.prompt)
            if tokens < budget * (1 - EXACT_MARGIN):
                continue
            exact = self.settings.models and tokens <= budget * (1 + EXACT_MARGIN)
            if exact:
                tokens = count_tokens(result.prompt, self.settings.models)
            if tokens <= budget:
                continue
            how = "tokens" if exact else "tokens (estimated)"
            key = "template" if len(self.spec.cases) == 1 else f"cases.{result.index}"
            self.report(
                key=key,
                message=(
                    f"Rendered prompt of case `{result.case.name}` is {tokens} {how}, over the "
                    f"budget of {budget}"
                ),
            )
