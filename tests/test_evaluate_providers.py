from pathlib import Path

import pytest

from harness.cli import main
from harness.config import load_config
from harness.evaluate import EvalOptions, evaluate
from harness.plan import Selection
from harness.record import SampleResult, iter_results
from tests.fake_openai import FakeOpenAI
from tests.test_evaluate import make_project

SCHEMA_REPLY = (
    "```python\nfrom pydantic import BaseModel\n\n\nclass ThingRead(BaseModel):\n    id: int\n\n"
    "    class Config:\n        orm_mode = True\n```\n"
)


def _reply(model: str, messages: list) -> str:
    return SCHEMA_REPLY


def _models(url: str) -> str:
    return (
        "models:\n"
        f"  - {{alias: gpt, model: openai/fake-gpt, api_base: '{url}', max_concurrency: 4}}\n"
        "  - {alias: careful, model: sim/careful}\n"
        "limits: {max_attempts: 2, timeout: 10}\n"
    )


@pytest.fixture
def server():
    with FakeOpenAI(reply=_reply) as srv:
        yield srv


def test_configured_openai_model_is_called_and_scored(
    tmp_path: Path, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-123456")
    config = load_config(make_project(tmp_path, _models(server.url)))
    sel = Selection(templates=("pydantic_schemas",), samples=2)
    outcome = evaluate(config, EvalOptions(selection=sel, progress=False))
    results = list(iter_results(outcome.run_dir / "results.jsonl"))
    gpt = [r for r in results if r.model == "gpt"]
    assert len(gpt) == 3 * 2 and server.total_requests == 6
    assert {r.status for r in gpt} == {"scored"}
    assert all({"IDS001", "PYD001"} <= {f.code for f in r.findings} for r in gpt)
    assert outcome.exit_code == 0
    run_json = (outcome.run_dir / "run.json").read_text()
    assert "sk-test" not in run_json
    assert "sk-test" not in (outcome.run_dir / "results.jsonl").read_text()
    # A second run answers from the store: no new HTTP request.
    again = evaluate(config, EvalOptions(selection=sel, progress=False))
    assert server.total_requests == 6
    assert again.summary.to_dict()["cells"] == outcome.summary.to_dict()["cells"]


def test_offline_with_empty_store_lists_unrecorded_and_makes_no_request(
    tmp_path: Path, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-123456")
    cfg = make_project(tmp_path, _models(server.url))
    code = main(
        [
            "evaluate",
            "--config",
            str(cfg),
            "--templates",
            "pydantic_schemas",
            "--offline",
            "--no-progress",
        ]
    )
    captured = capsys.readouterr()
    assert server.total_requests == 0
    assert code == 3  # every request of `gpt` went unanswered
    assert "3 request(s) have no recorded response" in captured.err
    assert "pydantic_schemas/user/gpt#0" in captured.err
    assert "careful" in captured.out  # sim models still run offline


def test_missing_key_means_offline_for_that_model(
    tmp_path: Path, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = load_config(make_project(tmp_path, _models(server.url)))
    sel = Selection(templates=("sqlalchemy_model",))
    outcome = evaluate(config, EvalOptions(selection=sel, progress=False))
    assert server.total_requests == 0
    assert outcome.unrecorded_total == 3
    assert outcome.failed_models == ("gpt",)
    assert outcome.summary.model("careful").n_scored == 3


def test_provider_errors_are_recorded_not_scored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-123456")
    with FakeOpenAI(reply=_reply, script=["500", "500"]) as srv:
        config = load_config(
            make_project(
                tmp_path, _models(srv.url).replace("max_concurrency: 4", "max_concurrency: 1")
            )
        )
        sel = Selection(templates=("pydantic_schemas",), models=("gpt",))
        outcome = evaluate(config, EvalOptions(selection=sel, progress=False))
    statuses = sorted(r.status for r in iter_results(outcome.run_dir / "results.jsonl"))
    assert statuses == ["provider-error", "scored", "scored"]
    assert outcome.error_total == 1 and outcome.exit_code == 0
    cell = outcome.summary.cell("pydantic_schemas", "gpt")
    assert cell.n == 3 and cell.n_scored == 2


def test_result_lines_are_the_sample_results_they_stand_for(tmp_path: Path) -> None:
    from harness.check import CheckJob, Verdict, check_batch
    from harness.code.engine import RuleSet
    from harness.evaluate import _line, _result
    from harness.llm import sim
    from harness.llm.types import Response
    from harness.plan import make_request, plan_cells, resolve_models, select_templates

    config = load_config(make_project(tmp_path))
    specs = select_templates(config, Selection())
    models = resolve_models(config, ("sim/sloppy", "sim/chatty", "sim/careful"))
    cells = plan_cells(config, specs, models, Selection(), frozenset())
    replies = [
        (cell, i, sim.respond(cell.model.model, list(cell.prompt), sim.request_params(i)))
        for cell in cells
        for i in range(2)
    ]
    # odd text survives: non-ASCII, quotes, control characters, a broken fence
    cell0 = cells[0]
    odd = '```python\ndef f() -> str:\n    return "é \\u2028 \\t \\" ✓"\n```\n\x00 ``'
    replies.append((cell0, 7, sim.SimReply(odd, "stop")))
    jobs = [
        CheckJob(r.text, r.finish_reason, c.role, c.spec.expect, c.spec.min_score, "x.py")
        for c, _, r in replies
    ]
    checked = check_batch(jobs, RuleSet.build(settings=config.rules), ("F", "E9", "B"))
    statuses = set()
    for (cell, i, reply), ch in zip(replies, checked, strict=True):
        req = make_request(cell, i)
        cost = 0.00125 if i else None
        resp = Response(
            req.key, reply.text, reply.finish_reason, 12, 34, cost, 5.5, "x", i == 1, None, None
        )
        line = _line(req, resp, Verdict(ch.status, ch.encoded()))
        # the fast line is exactly the record's own serialisation
        assert line == _result(req, resp, ch).model_dump_json() + "\n"
        assert SampleResult.model_validate_json(line) == _result(req, resp, ch)
        statuses.add(ch.status)
    assert {"scored", "no-code", "truncated"} <= statuses
