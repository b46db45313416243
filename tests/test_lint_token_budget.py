"""TPL012 counts tokens with litellm only when the chars/4 estimate is near the budget."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from harness.templates.lint.base import LintSettings
from harness.templates.lint.engine import lint_spec
from harness.templates.lint.rules.prompt_over_token_budget import PromptOverTokenBudget
from harness.templates.loader import parse_template

text = "id: t\\ntemplate: |\\n  " + {word!r} * {repeat} + "\\ncases: [{{name: a}}]\\n"
spec = parse_template(text, "t.yaml")
settings = LintSettings(token_budget={budget}, models=("sim/careful",))
for f in lint_spec(spec, (PromptOverTokenBudget,), settings):
    print("FINDING", f.line, f.message)
print("LITELLM", "litellm" in sys.modules)
"""


def _run(repeat: int, budget: int, word: str = "hello world ") -> str:
    code = SCRIPT.format(repeat=repeat, budget=budget, word=word)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout


def test_far_under_budget_never_imports_litellm() -> None:
    out = _run(repeat=10, budget=1000)
    assert "FINDING" not in out
    assert "LITELLM False" in out


def test_far_over_budget_is_decided_by_the_estimate() -> None:
    out = _run(repeat=400, budget=100)  # ~1200 estimated tokens
    assert "FINDING 2 Rendered prompt of case `a` is 1200 tokens (estimated)" in out
    assert "LITELLM False" in out


def test_near_the_budget_counts_exactly_with_the_model_tokenizer() -> None:
    # 300 x "hello world " = 3600 chars, estimate 900; "hello world " is 2 tokens, so ~600.
    out = _run(repeat=300, budget=800)
    assert "LITELLM True" in out
    assert "FINDING" not in out  # the exact count is under the budget
    # 400 x "x " = 800 chars, estimate 200; each "x" is a token, so the exact count is higher.
    over = _run(repeat=400, budget=190, word="x ")
    assert "LITELLM True" in over
    assert "tokens, over the budget of 190" in over
    assert "(estimated)" not in over
