"""Simulated models `sim/careful`, `sim/sloppy`, `sim/chatty`, served through litellm.

They need no key and no network, and answer deterministically: the reply is a function of
the prompt, the model and the sample index. Besides the prompt, a simulated request carries
what the template links each rule to (`expect.rules[].instruction`) and what it declares the
code must provide (`expect.provides`). A model obeys rule R when the rendered prompt holds
the instruction linked to R: rewording it in both places keeps the verdict, deleting it from
the prompt flips it. No phrase list is tuned to the shipped templates. The code provides the
declared classes, functions and routes:

- `careful` writes clean modern code and obeys every linked instruction; for a rule it was
  not told about it writes the common default of generated code (int ids, plain `str` for
  email, `session.query()`, `except Exception: return []`, ...), so removing an instruction
  from a template makes its score drop.
- `sloppy` writes Pydantic v1 / legacy SQLAlchemy habits, each defect with some probability.
- `chatty` wraps code in prose, sometimes runs out of tokens mid-block, sometimes answers
  with prose only; otherwise its code is decent with a few defects.
"""

from harness.llm.sim.prompt import Ask, analyse
from harness.llm.sim.provider import (
    MODELS,
    PROVIDER,
    SimReply,
    register,
    request_params,
    respond,
    version,
)

__all__ = [
    "MODELS",
    "PROVIDER",
    "Ask",
    "SimReply",
    "analyse",
    "register",
    "request_params",
    "respond",
    "version",
]
