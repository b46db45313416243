"""The simulated models' replies, and the litellm custom provider `sim` that serves them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.llm.sim.habits import defects_for
from harness.llm.sim.prompt import analyse
from harness.llm.sim.writers import write_code

PROVIDER = "sim"
MODELS = ("careful", "sloppy", "chatty")
SAMPLE_PARAM = "sim_sample"  # the sample index, so samples differ as real ones do
VERSION_PARAM = "sim_version"  # keeps an older simulator's stored answers from replaying
CHATTY_TRUNCATE = 0.15
CHATTY_NO_CODE = 0.10


def version() -> str:
    """A digest of the simulator's code: part of every simulated request."""
    if not _VERSION:
        digest = hashlib.sha256()
        for path in sorted(Path(__file__).parent.glob("*.py")):
            digest.update(path.read_bytes())
        _VERSION.append(digest.hexdigest()[:12])
    return _VERSION[0]


_VERSION: list[str] = []


def request_params(sample: int) -> dict[str, Any]:
    """The params a simulated request carries besides the template's."""
    return {SAMPLE_PARAM: sample, VERSION_PARAM: version()}


@dataclass(frozen=True, slots=True)
class SimReply:
    text: str
    finish_reason: str  # "stop" | "length"


_CHATTY_OPENERS = (
    "Sure! Here's a clean, production-ready implementation of the {what} for `{e}`.",
    "Great question! Below is how I would write the {what} for `{e}` in a modern codebase.",
    "Absolutely. Let's build the {what} for `{e}` step by step.",
)
_CHATTY_CLOSERS = (
    "A few notes:\n\n- Keep this module small and focused.\n- Add tests for edge cases.\n\n"
    "Let me know if you want me to add pagination or tests!",
    "This keeps things easy to maintain. If you'd like, I can also write the matching "
    "tests or an Alembic migration.",
    "Hope this helps! Feel free to ask if anything is unclear.",
)
_WHAT = {
    "schema": "Pydantic schemas",
    "model": "SQLAlchemy model",
    "service": "service layer",
    "router": "FastAPI router",
}


def seed_of(model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> int:
    """The random seed of one reply: model, prompt, `seed` param and sample index."""
    blob = json.dumps(
        {
            "model": model,
            "messages": [[m.get("role"), m.get("content")] for m in messages],
            "seed": params.get("seed"),
            "sample": params.get(SAMPLE_PARAM),
        },
        sort_keys=True,
        default=str,
    )
    return int.from_bytes(hashlib.sha256(blob.encode()).digest()[:8], "big")


def respond(
    model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any] | None = None
) -> SimReply:
    """The simulated model's reply: pure and deterministic."""
    params = params or {}
    name = model.removeprefix(f"{PROVIDER}/")
    if name not in MODELS:
        raise ValueError(f"unknown simulated model {model!r}; use one of: {', '.join(MODELS)}")
    rng = random.Random(seed_of(name, messages, params))
    ask = analyse(messages, params.get("sim_links") or {}, params.get("sim_provides") or ())
    what = _WHAT[ask.kind]
    if name == "chatty":
        roll = rng.random()
        opener = rng.choice(_CHATTY_OPENERS).format(what=what, e=ask.entity)
        if roll < CHATTY_NO_CODE:
            return SimReply(
                f"{opener}\n\nBefore writing code, it's worth thinking about the design. "
                f"A `{ask.entity}` usually needs validation at the boundary, a persistence "
                "model, and a thin service in between. I'd recommend starting from your "
                "domain requirements, then deciding on ids, timestamps and how errors "
                "should reach the API. Once you confirm these choices I can write the code.",
                "stop",
            )
        code = write_code(ask, defects_for(ask, name, rng))
        if roll < CHATTY_NO_CODE + CHATTY_TRUNCATE:
            lines = code.splitlines()
            cut = max(3, int(len(lines) * (0.4 + 0.4 * rng.random())))
            return SimReply(f"{opener}\n\n```python\n" + "\n".join(lines[:cut]) + "\n", "length")
        closer = rng.choice(_CHATTY_CLOSERS)
        return SimReply(f"{opener}\n\n```python\n{code}```\n\n{closer}\n", "stop")
    code = write_code(ask, defects_for(ask, name, rng))
    if name == "sloppy" and rng.random() < 0.5:
        return SimReply(f"Here is the code:\n\n```python\n{code}```\n", "stop")
    return SimReply(f"```python\n{code}```\n", "stop")


def _tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def _model_response(model: str, messages: list, params: Mapping[str, Any], response: Any) -> Any:
    from litellm.types.utils import Usage

    reply = respond(model, messages, params)
    prompt_tokens = sum(_tokens(str(m.get("content") or "")) for m in messages)
    completion_tokens = _tokens(reply.text)
    response.choices[0].message.content = reply.text
    response.choices[0].finish_reason = reply.finish_reason
    response.model = f"{PROVIDER}/{model.removeprefix(f'{PROVIDER}/')}"
    response.usage = Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )
    return response


def _latency(params: Mapping[str, Any]) -> float:
    try:
        return max(0.0, float(params.get("sim_latency_ms") or 0)) / 1000.0
    except (TypeError, ValueError):
        return 0.0


_HANDLER: list[Any] = []


def _handler() -> Any:
    if _HANDLER:
        return _HANDLER[0]
    from litellm import CustomLLM

    class SimLLM(CustomLLM):  # type: ignore[misc]
        """litellm provider `sim`: deterministic simulated models."""

        def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            params = kwargs.get("optional_params") or {}
            delay = _latency(params)
            if delay:
                time.sleep(delay)
            return _model_response(model, messages, params, kwargs["model_response"])

        async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            params = kwargs.get("optional_params") or {}
            delay = _latency(params)
            if delay:
                await asyncio.sleep(delay)
            return _model_response(model, messages, params, kwargs["model_response"])

    _HANDLER.append(SimLLM())
    return _HANDLER[0]


def register() -> None:
    """Install the `sim` provider in litellm (idempotent)."""
    from harness.llm import load_litellm

    litellm = load_litellm()
    handler = _handler()
    if not any(item.get("provider") == PROVIDER for item in litellm.custom_provider_map):
        litellm.custom_provider_map.append({"provider": PROVIDER, "custom_handler": handler})
    from litellm.utils import custom_llm_setup

    custom_llm_setup()
