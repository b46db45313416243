"""Simulated models `sim/careful`, `sim/sloppy`, `sim/chatty`, served through litellm.

They need no key and no network, and answer deterministically: the reply is a function of
the prompt, the model and the sample index. They read the rendered prompt for the entity,
its fields, the kind of code asked for and the instructions it contains, and write code
that follows (or, by model, ignores) those instructions:

- `careful` writes clean modern code and follows every instruction it recognises; where the
  prompt is silent it takes the plain default (int ids, plain `str` for email, ...), so
  removing an instruction from a template makes its score drop.
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
