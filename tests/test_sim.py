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


UUID = "Use UUID for all ids."


def test_careful_obeys_a_rule_when_the_prompt_holds_its_linked_instruction() -> None:
    linked = {"sim_links": {"IDS001": UUID}}
    asked = _code(sim.respond("sim/careful", _msgs(SCHEMA_TASK + UUID), linked))
    plain = _code(sim.respond("sim/careful", _msgs(SCHEMA_TASK), linked))
    assert "    id: UUID" in asked and "from uuid import UUID" in asked
    assert "    id: int" in plain and "UUID" not in plain  # deleted: the verdict flips
    # Reworded in both places: still obeyed. Reworded in the prompt only: not.
    reworded = "Identify every row by a UUID, never by an integer."
    both = sim.respond(
        "sim/careful", _msgs(SCHEMA_TASK + reworded), {"sim_links": {"IDS001": reworded}}
    )
    one = sim.respond("sim/careful", _msgs(SCHEMA_TASK + reworded), linked)
    assert "    id: UUID" in _code(both)
    assert "    id: int" in _code(one)
    # A phrase alone, with no link, is not an instruction the model reads.
    assert "    id: int" in _code(sim.respond("sim/careful", _msgs(SCHEMA_TASK + UUID)))


def test_careful_follows_the_linked_instructions() -> None:
    links = {
        "PYD004": "Read models set from_attributes.",
        "PYD005": "Email fields are EmailStr.",
        "PYD006": "Strings are bounded.",
        "PYD008": "Update fields are optional.",
    }
    task = SCHEMA_TASK + " ".join(links.values()) + "\n"
    code = _code(sim.respond("sim/careful", _msgs(task), {"sim_links": links}))
    assert "model_config = ConfigDict(from_attributes=True)" in code
    assert "billing_email: EmailStr" in code
    assert "max_length=" in code
    assert "number: str | None = Field(default=None" in code
    assert "class Config" not in code


def test_simulated_models_provide_what_the_template_declares() -> None:
    from harness.plan import sim_task
    from harness.templates.render import render_provides

    for spec in SPECS:
        for case in spec.cases:
            task = sim_task(spec, render_provides(spec, case))
            msgs = [m.as_dict() for m in render(spec, case).messages]
            reply = sim.respond("sim/careful", msgs, task)
            for item in task["sim_provides"]:
                name = item.get("name")
                if name:
                    assert name in reply.text, (spec.id, case.name, name)
                if item.get("path"):
                    assert item["path"].split("{")[0].rstrip("/") in reply.text


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


def _house_scores(model: str) -> dict[str, list[float]]:
    """Scores of `model` on every case of every shipped template, on the house profile."""
    from harness.config import HarnessConfig
    from harness.evaluate import run_profile
    from harness.plan import sim_task
    from harness.templates.render import render_provides

    profile = run_profile(HarnessConfig())
    ruleset = RuleSet.build()
    jobs, ids = [], []
    for spec in SPECS:
        for case in spec.cases:
            provides = render_provides(spec, case)
            msgs = [m.as_dict() for m in render(spec, case).messages]
            reply = sim.respond(model, msgs, sim_task(spec, provides))
            role = Role(spec.expect.role or "other")
            job = CheckJob(
                reply.text, reply.finish_reason, role, spec.expect, 80.0, "x.py", profile, provides
            )
            jobs.append(job)
            ids.append(spec.id)
    out: dict[str, list[float]] = {}
    for tid, checked in zip(ids, check_batch(jobs, ruleset, ("F", "E9", "B")), strict=True):
        assert checked.status == "scored", (tid, checked.detail)
        out.setdefault(tid, []).append(checked.score)
    return out


def test_careful_scores_full_marks_on_the_structured_templates() -> None:
    scores = _house_scores("sim/careful")
    structured = {t: s for t, s in scores.items() if t != "conversational"}
    assert structured and all(s == [100.0] * len(s) for s in structured.values()), structured


def test_the_conversational_template_scores_below_every_structured_one() -> None:
    """The house score compares templates: the one-liner with no rules loses to every
    structured template for the same (careful) model."""
    means = {t: sum(s) / len(s) for t, s in _house_scores("sim/careful").items()}
    ranked = sorted(means, key=means.get)  # type: ignore[arg-type]
    assert ranked[0] == "conversational", means
    assert all(means["conversational"] < m for t, m in means.items() if t != "conversational")


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
