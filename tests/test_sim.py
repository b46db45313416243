import asyncio
from pathlib import Path

import libcst as cst
import pytest

from harness.check import CheckJob, check_batch
from harness.code.engine import RuleSet
from harness.code.unit import Role
from harness.llm import sim
from harness.templates.loader import load_templates
from harness.templates.render import render

REPO = Path(__file__).resolve().parent.parent
SPECS = load_templates([REPO / "prompt_templates"]).specs


def _msgs(task: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You are a senior Python backend engineer."},
        {"role": "user", "content": task},
    ]


def _code(reply: sim.SimReply) -> str:
    return reply.text.split("```python\n", 1)[1].split("```", 1)[0]


SCHEMA_TASK = (
    "Write the Pydantic v2 schemas for the `Invoice` resource.\n"
    "- `number`: `str`\n- `billing_email`: `email address`\n- `amount_cents`: `int`\n"
)


def test_replies_are_deterministic() -> None:
    msgs = _msgs(SCHEMA_TASK)
    for model in ("sim/careful", "sim/sloppy", "sim/chatty"):
        first = sim.respond(model, msgs, {"sim_sample": 3})
        assert sim.respond(model, msgs, {"sim_sample": 3}) == first


def test_samples_differ_for_sloppy_models() -> None:
    msgs = _msgs(SCHEMA_TASK)
    replies = {sim.respond("sim/sloppy", msgs, {"sim_sample": i}).text for i in range(8)}
    assert len(replies) > 1


def test_reply_depends_on_the_prompt() -> None:
    a = sim.respond("sim/careful", _msgs(SCHEMA_TASK))
    b = sim.respond("sim/careful", _msgs(SCHEMA_TASK.replace("Invoice", "Customer")))
    assert "class InvoiceCreate" in a.text
    assert "class CustomerCreate" in b.text


def test_careful_uses_uuid_ids_only_when_asked() -> None:
    plain = _code(sim.respond("sim/careful", _msgs(SCHEMA_TASK)))
    asked = _code(sim.respond("sim/careful", _msgs(SCHEMA_TASK + "\nUse UUID for all ids.\n")))
    assert "    id: int" in plain and "UUID" not in plain
    assert "    id: UUID" in asked and "from uuid import UUID" in asked


def test_careful_follows_recognised_instructions() -> None:
    task = (
        SCHEMA_TASK + "Use `ConfigDict(from_attributes=True)` for read models. Use `EmailStr`. "
        "Bound strings with `Field(max_length=...)`. Make update fields optional.\n"
    )
    code = _code(sim.respond("sim/careful", _msgs(task)))
    assert "model_config = ConfigDict(from_attributes=True)" in code
    assert "billing_email: EmailStr" in code
    assert "max_length=" in code
    assert "number: str | None = Field(default=None" in code
    assert "class Config" not in code


@pytest.mark.parametrize("kind", ["schema", "model", "service", "router"])
def test_analyse_reads_the_kind_of_code_asked(kind: str) -> None:
    spec = next(s for s in SPECS if s.expect.role == kind)
    prompt = render(spec, spec.cases[0])
    ask = sim.analyse([m.as_dict() for m in prompt.messages])
    assert ask.kind == kind
    assert ask.entity in prompt.messages[-1].content


def test_every_reply_on_the_shipped_templates_parses_unless_truncated() -> None:
    for spec in SPECS:
        for case in spec.cases:
            msgs = [m.as_dict() for m in render(spec, case).messages]
            for model in sim.MODELS:
                for i in range(4):
                    reply = sim.respond(model, msgs, {"sim_sample": i})
                    if reply.finish_reason == "length" or "```" not in reply.text:
                        continue
                    cst.parse_module(_code(reply))


def test_careful_scores_full_marks_on_the_shipped_templates() -> None:
    ruleset = RuleSet.build()
    jobs = []
    for spec in SPECS:
        for case in spec.cases:
            reply = sim.respond("sim/careful", [m.as_dict() for m in render(spec, case).messages])
            role = Role(spec.expect.role or "other")
            jobs.append(CheckJob(reply.text, reply.finish_reason, role, spec.expect, 80.0, "x.py"))
    checked = check_batch(jobs, ruleset, ("F", "E9", "B"))
    assert [c.status for c in checked] == ["scored"] * len(jobs)
    assert all(c.score == 100.0 for c in checked), [c.findings for c in checked if c.score < 100]


def test_chatty_sometimes_truncates_and_sometimes_writes_no_code() -> None:
    msgs = _msgs(SCHEMA_TASK)
    replies = [sim.respond("sim/chatty", msgs, {"sim_sample": i}) for i in range(60)]
    truncated = [r for r in replies if r.finish_reason == "length"]
    prose = [r for r in replies if "```" not in r.text]
    assert truncated and prose
    assert all(r.text.count("```") == 1 for r in truncated)
    assert len(truncated) + len(prose) < 30


def test_unknown_simulated_model_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown simulated model"):
        sim.respond("sim/other", _msgs(SCHEMA_TASK))


def test_register_serves_sim_models_through_litellm() -> None:
    from harness.llm import load_litellm

    sim.register()
    sim.register()
    litellm = load_litellm()
    assert sum(1 for p in litellm.custom_provider_map if p["provider"] == "sim") == 1
    msgs = _msgs(SCHEMA_TASK)
    resp = asyncio.run(
        litellm.acompletion(model="sim/careful", messages=msgs, sim_sample=1, sim_latency_ms=1)
    )
    assert (
        resp.choices[0].message.content == sim.respond("sim/careful", msgs, {"sim_sample": 1}).text
    )
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
