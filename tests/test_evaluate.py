import json
import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.config import load_config
from harness.evaluate import EvalOptions, evaluate
from harness.plan import Selection
from harness.record import iter_results, read_meta, write_meta
from harness.report import build_reports
from harness.templates.loader import load_templates

REPO = Path(__file__).resolve().parent.parent
SIM_MODELS = """
models:
  - {alias: careful, model: sim/careful}
  - {alias: sloppy, model: sim/sloppy}
  - {alias: chatty, model: sim/chatty}
"""


def make_project(tmp: Path, models: str = SIM_MODELS) -> Path:
    shutil.copytree(REPO / "prompt_templates", tmp / "prompt_templates")
    (tmp / "harness.yaml").write_text(
        "templates_dir: prompt_templates\nreports_dir: reports\n"
        "store: .harness/store.sqlite\nsamples: 1\n" + models
    )
    return tmp / "harness.yaml"


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("sim")
    config = load_config(make_project(tmp))
    outcome = evaluate(config, EvalOptions(selection=Selection(samples=3), progress=False))
    return config, outcome


def test_sim_run_writes_one_result_per_sample(sim_run) -> None:
    config, outcome = sim_run
    specs = load_templates([Path(config.root) / "prompt_templates"]).specs
    cases = sum(len(s.cases) for s in specs)
    lines = (outcome.run_dir / "results.jsonl").read_text().splitlines()
    assert len(lines) == cases * 3 * 3
    idents = {
        (r.template, r.case, r.model, r.sample)
        for r in iter_results(outcome.run_dir / "results.jsonl")
    }
    assert len(idents) == len(lines)
    assert outcome.exit_code == 0


def test_sim_models_rank_careful_sloppy_chatty(sim_run) -> None:
    _, outcome = sim_run
    assert outcome.summary.ranking == ("careful", "sloppy", "chatty")
    chatty = outcome.summary.model("chatty")
    assert chatty.status_counts["no-code"] + chatty.status_counts["truncated"] > 0
    # Careful follows every linked instruction: full marks on the structured templates, and
    # below that on the one-liner that gives none.
    careful = {c.template: c.mean_score for c in outcome.summary.cells if c.model == "careful"}
    assert all(score == 100.0 for t, score in careful.items() if t != "conversational")
    assert careful["conversational"] < 100.0


def test_run_json_records_the_run(sim_run) -> None:
    config, outcome = sim_run
    meta = read_meta(outcome.run_dir)
    assert meta.run_id == outcome.run_dir.name
    assert meta.finished_at is not None
    assert set(meta.templates) == {
        s.id for s in load_templates([Path(config.root) / "prompt_templates"]).specs
    }
    assert all(len(h) == 64 for h in meta.templates.values())
    assert meta.min_scores["pydantic_schemas"] == 80
    assert [(m.alias, m.model, m.simulated) for m in meta.models] == [
        ("careful", "sim/careful", True),
        ("sloppy", "sim/sloppy", True),
        ("chatty", "sim/chatty", True),
    ]
    assert meta.samples == 3
    assert meta.counts["written"] == meta.counts["planned"]
    assert meta.config["selection"]["samples"] == 3
    assert "root" not in meta.config
    for name in ("report.html", "summary.json", "summary.md", "junit.xml"):
        assert (outcome.run_dir / name).is_file()


def test_report_command_rebuilds_identical_summary(sim_run, capsys) -> None:
    _, outcome = sim_run
    summary = outcome.run_dir / "summary.json"
    before = summary.read_text()
    summary.unlink()
    (outcome.run_dir / "report.html").unlink()
    assert main(["report", str(outcome.run_dir), "--print", "none"]) == 0
    assert summary.read_text() == before
    assert (outcome.run_dir / "report.html").is_file()


def test_resume_skips_finished_samples(tmp_path: Path) -> None:
    config = load_config(make_project(tmp_path))
    sel = Selection(templates=("pydantic_schemas",), samples=2)
    first = evaluate(config, EvalOptions(selection=sel, progress=False, run_id="r1"))
    results = first.run_dir / "results.jsonl"
    lines = results.read_text().splitlines()
    # As if killed half way: half the lines, run.json not finalised.
    results.write_text("\n".join(lines[: len(lines) // 2]) + "\n" + lines[-1][:20])
    write_meta(first.run_dir, first.meta.model_copy(update={"finished_at": None}))
    again = evaluate(config, EvalOptions(resume="r1", progress=False))
    assert again.resumed == len(lines) // 2
    assert again.meta.counts["written"] == len(lines) - len(lines) // 2
    assert len(results.read_text().splitlines()) == len(lines)
    assert again.summary.to_dict() == first.summary.to_dict()


def test_cli_prints_table_and_report_path(tmp_path: Path, capsys) -> None:
    cfg = make_project(tmp_path)
    code = main(
        ["evaluate", "--config", str(cfg), "--templates", "sqlalchemy_model", "--no-progress"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "careful" in out and "SIMULATED" in out
    report = out.strip().splitlines()[-1]
    assert report.startswith("Report: ") and report.endswith("report.html")
    assert Path(report.removeprefix("Report: ")).is_file()


def test_cli_json_format(tmp_path: Path, capsys) -> None:
    # `sim/chatty` is not configured here: an ad-hoc model whose alias is its model string.
    cfg = make_project(tmp_path, "models:\n  - {alias: careful, model: sim/careful}\n")
    code = main(
        [
            "evaluate",
            "--config",
            str(cfg),
            "--templates",
            "service_layer",
            "--models",
            "careful,sim/chatty",
            "--format",
            "json",
            "--no-progress",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(doc["summary"]["models"]) == {"careful", "sim/chatty"}
    assert doc["summary"]["simulated"] == {"careful": True, "sim/chatty": True}
    assert Path(doc["reports"]["html"]).is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--templates", "nope"], "unknown template 'nope'"),
        (["--models", "nope"], "unknown model 'nope'"),
        (["--cases", "nope"], "unknown case 'nope'"),
        (["--resume", "missing"], "no run to resume"),
    ],
)
def test_selection_errors_exit_2(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    cfg = make_project(tmp_path)
    assert main(["evaluate", "--config", str(cfg), "--no-progress", *args]) == 2
    assert message in capsys.readouterr().err


def test_existing_run_id_is_refused(tmp_path: Path, capsys) -> None:
    cfg = make_project(tmp_path)
    base = ["evaluate", "--config", str(cfg), "--templates", "sqlalchemy_model", "--no-progress"]
    assert main([*base, "--run-id", "same"]) == 0
    capsys.readouterr()
    assert main([*base, "--run-id", "same"]) == 2
    assert "harness evaluate --resume same" in capsys.readouterr().err


def test_check_worker_process_gives_the_same_results_as_a_thread(tmp_path: Path) -> None:
    config = load_config(make_project(tmp_path))
    sel = Selection(templates=("fastapi_router",), samples=2)
    runs = [
        evaluate(config, EvalOptions(selection=sel, progress=False, workers=w, run_id=f"w{w}"))
        for w in (0, 1)
    ]
    rows = [
        [
            (r.template, r.case, r.model, r.sample, r.status, r.score, r.findings)
            for r in sorted(
                iter_results(o.run_dir / "results.jsonl"),
                key=lambda r: (r.template, r.case, r.model, r.sample),
            )
        ]
        for o in runs
    ]
    assert rows[0] == rows[1]
    assert runs[1].meta.counts["checked"] > 0
    # The worker wrote the reports (and aggregated) as the thread run did here.
    assert runs[0].summary == runs[1].summary
    for o in runs:
        assert set(o.reports) == {"json", "markdown", "junit", "sarif", "html"}
        assert all(p.stat().st_size > 0 for p in o.reports.values())
        on_disk = read_meta(o.run_dir)
        assert on_disk.finished_at is not None
        assert on_disk.counts["scored"] == o.summary.status_counts["scored"] > 0
    html = [(o.run_dir / "report.html").read_text() for o in runs]
    assert html[0].count("<tr") == html[1].count("<tr")
    # `harness report` in this process rebuilds the worker's files byte for byte.
    written = {k: p.read_bytes() for k, p in runs[1].reports.items()}
    _, rebuilt = build_reports(runs[1].run_dir)
    assert {k: p.read_bytes() for k, p in rebuilt.items()} == written


def test_reports_fall_back_to_this_process_when_the_check_worker_died() -> None:
    import os
    import signal

    from harness.checker import Checker
    from harness.config import RulesConfig

    checker = Checker(lambda *a: None, RulesConfig(), None, 1, {})
    try:
        worker_pid = checker.start(os.getpid)()
        assert worker_pid != os.getpid()
        os.kill(worker_pid, signal.SIGKILL)
        assert checker.start(os.getpid)() == os.getpid()
    finally:
        checker.close()
