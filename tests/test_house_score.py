"""Scores that mean what a reader thinks: the house profile, task conformance, one defect one
finding, blocking rules, and the breakdown, end to end through a real local HTTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.check import CheckJob, check_batch
from harness.code.engine import RuleSet, check_unit
from harness.code.unit import CodeUnit, Role
from harness.config import HarnessConfig, load_config
from harness.evaluate import EvalOptions, evaluate, run_profile
from harness.plan import Selection
from harness.record import iter_results
from harness.sample import HouseRule, score_sample
from harness.templates.loader import load_templates
from harness.templates.render import render_provides
from harness.templates.spec import Expect, Provided
from tests.fake_openai import FakeOpenAI
from tests.test_evaluate import make_project

REPO = Path(__file__).resolve().parent.parent
SPECS = load_templates([REPO / "prompt_templates"]).specs
PROFILE = run_profile(HarnessConfig())
RULESET = RuleSet.build()

#: The trap that motivated the tool: a tidy service whose query hides database failures.
TRAP = """```python
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.errors import OrderNotCancellable, OrderNotFound
from app.models import Order


async def cancel_order(session: AsyncSession, order_id: UUID) -> list[Order]:
    try:
        result = await session.scalars(select(Order).where(Order.id == order_id))
        return list(result)
    except Exception:
        return []
```
"""


def _check(reply: str, spec_id: str, case: int = 0) -> object:
    spec = next(s for s in SPECS if s.id == spec_id)
    job = CheckJob(
        reply,
        "stop",
        Role(spec.expect.role or "other"),
        spec.expect,
        spec.min_score,
        f"{spec.id}.py",
        PROFILE,
        render_provides(spec, spec.cases[case]),
    )
    (checked,) = check_batch([job], RULESET, ("F", "E9", "B"))
    return checked


@pytest.mark.parametrize("spec_id", sorted(s.id for s in SPECS))
def test_a_reply_of_x_equals_1_fails_every_shipped_template(spec_id: str) -> None:
    checked = _check("```python\nx = 1\n```\n", spec_id)
    assert not checked.passed
    assert checked.score < 80


def test_an_off_task_answer_fails_conformance_and_names_what_is_missing() -> None:
    orm_model = (
        "```python\nimport uuid\nfrom sqlalchemy.orm import DeclarativeBase, Mapped, "
        "mapped_column\n\n\nclass Base(DeclarativeBase):\n    pass\n\n\nclass Order(Base):\n"
        "    __tablename__ = 'orders'\n"
        "    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)\n"
        "```\n"
    )
    checked = _check(orm_model, "service_layer")
    assert not checked.passed
    task = next(b for b in checked.breakdown if b.code == "TSK001")
    assert task.outcome == "fail" and task.blocking
    assert "async function `cancel_order`" in (task.note or "")
    assert any(f.code == "TSK001" and "cancel_order" in f.message for f in checked.findings)


def test_class_config_orm_mode_costs_one_finding() -> None:
    reply = (
        "```python\nfrom pydantic import BaseModel\n\n\nclass ThingRead(BaseModel):\n"
        "    name: str\n\n    class Config:\n        orm_mode = True\n```\n"
    )
    unit = CodeUnit(reply.split("```python\n")[1].split("```")[0], "schemas.py")
    result = check_unit(unit, RULESET)
    codes = [f.code for f in result.findings]
    assert codes.count("PYD001") == 1
    assert "PYD002" not in codes and "PYD004" not in codes
    assert "`orm_mode` → `from_attributes`" in result.findings[0].message
    score = score_sample([result], [()], Expect(), 80, profile=PROFILE)
    failed = [b.code for b in score.breakdown if b.outcome == "fail"]
    assert failed == ["PYD001"]


def test_findings_on_one_node_count_once_at_the_highest_weight() -> None:
    from harness.findings import Finding

    def f(code: str) -> Finding:
        return Finding(code, "x", "m", 3, 1, 4, 9, path="a.py")

    unit = CodeUnit("x = 1\n", "a.py")
    from harness.code.engine import CheckResult

    res = CheckResult(unit, "ok", (f("PYD001"), f("PYD002")), ("PYD001", "PYD002", "EXC002"))
    profile = {c: HouseRule(w) for c, w in (("PYD001", 2.0), ("PYD002", 1.0), ("EXC002", 1.0))}
    s = score_sample([res], (), Expect(), 0, profile=profile)
    by_code = {b.code: b for b in s.breakdown}
    assert by_code["PYD001"].outcome == "fail" and by_code["PYD001"].merged == ("PYD002",)
    assert by_code["PYD002"].outcome == "pass"
    assert s.score == pytest.approx(100 * 2 / 4)
    # A ruff finding repeating ours on the same line is dropped from the score.
    sql = Finding("SQL001", "x", "m", 5, 1, 5, 9, path="a.py")
    s608 = Finding("ruff:S608", "x", "m", 5, 3, 5, 9, path="a.py")
    res = CheckResult(unit, "ok", (sql,), ("SQL001",))
    s = score_sample([res], [(s608,)], Expect(), 0, profile={"SQL001": HouseRule()})
    assert next(b for b in s.breakdown if b.code == "SQL001").merged == ("ruff:S608",)


def test_exemptions_need_a_reason_and_show_in_the_breakdown() -> None:
    unit = CodeUnit("x = 1\n", "a.py")
    from harness.code.engine import CheckResult
    from harness.findings import Finding

    res = CheckResult(
        unit, "ok", (Finding("IDS001", "x", "m", 1, 1, 1, 2, path="a.py"),), ("IDS001", "EXC002")
    )
    expect = Expect(exempt=[{"code": "IDS001", "reason": "legacy integer keys"}])
    s = score_sample([res], (), expect, 80, profile={"IDS001": HouseRule(), "EXC002": HouseRule()})
    assert s.score == 100.0 and s.passed
    exempt = next(b for b in s.breakdown if b.code == "IDS001")
    assert (exempt.outcome, exempt.note) == ("exempt", "legacy integer keys")
    with pytest.raises(ValueError):
        Expect(exempt=[{"code": "IDS001", "reason": ""}])


def test_a_blocking_violation_fails_whatever_the_score() -> None:
    unit = CodeUnit("x = 1\n", "a.py")
    from harness.code.engine import CheckResult
    from harness.findings import Finding

    res = CheckResult(
        unit,
        "ok",
        (Finding("EXC001", "x", "m", 1, 1, 1, 2, path="a.py"),),
        (*(f"R{i:02d}" for i in range(20)), "EXC001"),
    )
    profile = {f"R{i:02d}": HouseRule() for i in range(20)} | {"EXC001": HouseRule(1, True)}
    s = score_sample([res], (), Expect(), 80, profile=profile)
    assert s.score > 90 and not s.passed
    assert "blocking rule violated: EXC001" in (s.detail or "")


def test_conformance_matches_routes_by_method_and_path() -> None:
    from harness.code.provides import Offer
    from harness.code.rules.task.task_conformance import TaskConformance

    offers = [Offer("route", "send", "POST", "/{id}/send"), Offer("async-function", "f")]
    declared = [
        Provided(kind="route", method="POST", path="/invoices/{invoice_id}/send"),
        Provided(kind="route", method="GET", path="/invoices/{invoice_id}"),
        Provided(kind="function", name="f"),
        Provided(kind="async-function", name="g"),
    ]
    assert TaskConformance.missing(declared, offers) == [
        "route GET /invoices/{invoice_id}",
        "async function `g`",
    ]


def test_routes_are_read_from_their_decorators() -> None:
    import libcst as cst

    from harness.code.facts import collect
    from harness.code.provides import Offer, offers
    from harness.code.rules.task.task_conformance import TaskConformance

    source = (
        "@bp.route('/items/<id>', methods=['GET', 'PUT'])\n"
        "def item(id):\n    pass\n\n"
        "@router.delete(path='/items/{item_id}')\n"
        "async def drop(item_id):\n    pass\n\n"
        "@app.route('/health')\n"
        "def health():\n    pass\n"
    )
    routes = [o for o in offers(collect(cst.parse_module(source))) if o.kind == "route"]
    assert routes == [
        Offer("route", "item", "GET", "/items/<id>"),
        Offer("route", "item", "PUT", "/items/<id>"),
        Offer("route", "drop", "DELETE", "/items/{item_id}"),
        Offer("route", "health", "GET", "/health"),
    ]
    put = Provided(kind="route", method="PUT", path="/items/{item_id}")
    post = Provided(kind="route", method="POST", path="/items/{item_id}")
    assert TaskConformance.missing([put, post], routes) == ["route POST /items/{item_id}"]


def _trap_reply(model: str, messages: list) -> str:
    text = messages[-1]["content"]
    return TRAP if "cancel_order" in text else "```python\nx = 1\n```\n"


def test_the_trap_fails_through_a_real_http_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-123456")
    with FakeOpenAI(reply=_trap_reply) as server:
        models = (
            "models:\n"
            f"  - {{alias: gpt, model: openai/fake-gpt, api_base: '{server.url}'}}\n"
            "limits: {max_attempts: 1, timeout: 10}\n"
        )
        config = load_config(make_project(tmp_path, models))
        sel = Selection(templates=("service_layer",), samples=1)
        outcome = evaluate(config, EvalOptions(selection=sel, progress=False))
    results = {r.case: r for r in iter_results(outcome.run_dir / "results.jsonl")}
    trap = results["cancel_order"]
    assert trap.status == "scored" and not trap.passed
    assert any(f.code == "EXC001" for f in trap.findings)
    exc = next(b for b in trap.breakdown if b.code == "EXC001")
    assert exc.outcome == "fail" and exc.blocking
    assert "EXC001" in (trap.detail or "")
    for case in ("search_products", "register_user"):  # answered `x = 1`
        assert not results[case].passed
    # The breakdown is in results.jsonl and in the HTML report's data.
    line = next(
        json.loads(raw)
        for raw in (outcome.run_dir / "results.jsonl").read_text().splitlines()
        if '"cancel_order"' in raw
    )
    assert {b["code"] for b in line["breakdown"]} >= {"EXC001", "TSK001"}
    html = (outcome.run_dir / "report.html").read_text()
    assert '"breakdown"' in html and "Score breakdown" in html


def test_a_swallowing_bare_except_counts_once_with_ruffs_e722() -> None:
    from harness.code.engine import check_units
    from harness.code.ruff import run_ruff

    src = "def load(repo):\n    try:\n        return repo.all()\n    except:\n        pass\n"
    units = [CodeUnit(src, "app/services/load.py")]
    results = check_units(units)
    ruff = run_ruff(units, ["E722"])
    assert {f.code for f in results[0].findings} == {"EXC001"}
    assert {f.code for f in ruff[0]} == {"ruff:E722"}
    profile = {"EXC001": HouseRule(), "EXC002": HouseRule(), "ruff": HouseRule()}
    s = score_sample(results, ruff, Expect(), 0, profile=profile)
    exc = next(b for b in s.breakdown if b.code == "EXC001")
    assert exc.outcome == "fail" and exc.merged == ("ruff:E722",)
    assert all(b.outcome != "fail" for b in s.breakdown if b.code != "EXC001")
