"""The regression gate: golden update, harness check, statistics, sharding, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.config import GateConfig
from harness.golden import (
    CaseBaseline,
    CellBaseline,
    RuleBaseline,
    TemplateBaseline,
    read_baselines,
)
from harness.regress import Kind, compare, compare_cell
from harness.stats import one_sided_two_proportion_test, stratified_one_sided

ROOT = Path(__file__).resolve().parents[1]
UUID_LINE = "Use UUID for all ids"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp copy of the repo's templates and config, with its own store and golden/."""
    shutil.copytree(ROOT / "prompt_templates", tmp_path / "prompt_templates")
    shutil.copy(ROOT / "harness.yaml", tmp_path / "harness.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _bless(project: Path, *extra: str) -> None:
    assert main(["golden", "update", "--offline", *extra]) == 0
    assert (project / "golden" / "sqlalchemy_model.json").exists()


def test_golden_files_are_stable_and_diff_friendly(project: Path) -> None:
    _bless(project, "--templates", "sqlalchemy_model")
    first = (project / "golden" / "sqlalchemy_model.json").read_text()
    recordings = (project / "golden" / "recordings" / "sqlalchemy_model.jsonl").read_text()
    _bless(project, "--templates", "sqlalchemy_model")
    assert (project / "golden" / "sqlalchemy_model.json").read_text() == first
    assert (project / "golden" / "recordings" / "sqlalchemy_model.jsonl").read_text() == recordings
    data = json.loads(first)
    assert list(data) == sorted(data)
    assert set(data["models"]) == {"careful", "sloppy", "chatty"}
    assert len(recordings.splitlines()) == 27  # 3 cases x 3 models x 3 samples


def test_untouched_templates_pass_offline_with_zero_model_calls(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _bless(project)
    capsys.readouterr()
    code = main(["check", "--offline", "--comment-file", str(project / "comment.md")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 model call(s)" in out
    assert "ran 0 template(s)" in out
    assert "no regression" in (project / "comment.md").read_text()


def test_removed_uuid_instruction_fails_the_gate(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _bless(project)
    path = project / "prompt_templates" / "sqlalchemy_model.yaml"
    text = path.read_text()
    lines = [ln for ln in text.splitlines(keepends=True) if ln.strip() != f"- {UUID_LINE}"]
    assert len(lines) == len(text.splitlines()) - 1, "the template lost its UUID instruction line"
    path.write_text("".join(lines))
    capsys.readouterr()
    code = main(["check", "--offline", "--comment-file", str(project / "comment.md")])
    out = capsys.readouterr().out
    assert code == 1, out
    regressions = [ln for ln in out.splitlines() if ln.startswith("REGRESSION")]
    assert any("sqlalchemy_model/careful" in ln and "IDS001" in ln for ln in regressions), out
    # Templates that did not change were replayed, not re-run.
    assert "ran 1 template(s)" in out
    comment = (project / "comment.md").read_text()
    assert "int-id-field" in comment and "sqlalchemy_model" in comment and "careful" in comment
    assert "```python" in comment  # an example finding with its code excerpt


def _cell(passes: int, n: int, rules: dict[str, tuple[int, int]]) -> CellBaseline:
    return CellBaseline(
        model="sim/x",
        n=n,
        n_scored=n,
        passes=passes,
        rules={c: RuleBaseline(violations=v, applicable=a) for c, (v, a) in rules.items()},
    )


GATE = GateConfig(margin=0.10, alpha=0.05)


def test_same_rate_with_different_samples_is_noise() -> None:
    base = _cell(40, 50, {"SQA006": (10, 50), "EXC001": (5, 50)})
    cur = _cell(39, 50, {"SQA006": (11, 50), "EXC001": (4, 50)})
    verdict = compare_cell("t", "m", base, cur, GATE)
    assert verdict.regressions == ()
    assert {c.metric for c in verdict.changes} == {"pass-rate", "SQA006", "EXC001"}
    assert all(c.kind is Kind.NOISE for c in verdict.changes)


def test_holm_correction_spreads_alpha_over_the_check() -> None:
    base = _cell(10, 20, {f"R{i:02d}": (2, 20) for i in range(20)})
    # One rule moves 2/20 -> 8/20: p ~ 0.03, significant alone, not among 21 comparisons.
    cur = _cell(10, 20, {**{f"R{i:02d}": (2, 20) for i in range(1, 20)}, "R00": (8, 20)})
    alone = compare_cell("t", "m", base, cur, GATE)
    assert alone.regressions and alone.regressions[0].metric == "R00"
    crowd = {f"t{i}": {"m": cur if i == 0 else base} for i in range(25)}
    baselines = {
        t: TemplateBaseline(
            template=t,
            template_hash="h",
            min_score=80,
            models={"m": base},
            recordings=f"recordings/{t}.jsonl",
        )
        for t in crowd
    }
    # Same data, but the rules of 24 other templates also moved, by noise (2/20 -> 5/20).
    noisy = {
        t: {"m": _cell(10, 20, {f"R{i:02d}": (5, 20) for i in range(20)})}
        for t in crowd
        if t != "t0"
    }
    verdicts = compare(baselines, {**noisy, "t0": {"m": cur}}, GATE)
    assert [c.metric for v in verdicts for c in v.regressions] == []
    no_corr = GateConfig(margin=0.10, alpha=0.05, correction="none")
    assert [
        c.metric for v in compare(baselines, {"t0": {"m": cur}}, no_corr) for c in v.regressions
    ] == ["R00"]


def test_large_drop_is_a_regression_and_a_large_gain_an_improvement() -> None:
    base = _cell(45, 50, {"SQA006": (5, 50), "EXC001": (30, 50)})
    cur = _cell(20, 50, {"SQA006": (30, 50), "EXC001": (5, 50)})
    verdict = compare_cell("t", "m", base, cur, GATE)
    kinds = {c.metric: c.kind for c in verdict.changes}
    assert kinds == {
        "pass-rate": Kind.REGRESSION,
        "SQA006": Kind.REGRESSION,
        "EXC001": Kind.IMPROVEMENT,
    }
    assert all(c.p_value is not None and c.p_value < 0.01 for c in verdict.changes)


def test_a_big_but_insignificant_move_on_few_samples_is_noise() -> None:
    verdict = compare_cell("t", "m", _cell(2, 3, {"X": (1, 3)}), _cell(1, 3, {"X": (2, 3)}), GATE)
    assert verdict.regressions == ()


def test_a_rule_that_never_fired_now_fires() -> None:
    base = _cell(9, 9, {"IDS001": (0, 9)})
    verdict = compare_cell("t", "m", base, _cell(0, 9, {"IDS001": (9, 9)}), GATE)
    assert [c.metric for c in verdict.regressions] == ["IDS001", "pass-rate"] or [
        c.metric for c in verdict.regressions
    ] == ["pass-rate", "IDS001"]
    # Three samples cannot show anything: 0/3 -> 3/3 is p = 0.05, not below alpha.
    base = _cell(3, 3, {"IDS001": (0, 3)})
    verdict = compare_cell("t", "m", base, _cell(0, 3, {"IDS001": (3, 3)}), GATE)
    assert verdict.regressions == ()
    # One stray hit in many samples stays under the margin: not a regression.
    base = _cell(50, 50, {"IDS001": (0, 50)})
    verdict = compare_cell("t", "m", base, _cell(49, 50, {"IDS001": (1, 50)}), GATE)
    assert verdict.regressions == ()


def _paired(cases: dict[str, tuple[int, int]], rule: str = "EXC001") -> CellBaseline:
    """A cell with per-case counts: case -> (violations, samples); a sample passes unless
    the rule fired."""
    v = sum(x for x, _ in cases.values())
    n = sum(m for _, m in cases.values())
    return CellBaseline(
        model="sim/x",
        n=n,
        n_scored=n,
        passes=n - v,
        rules={rule: RuleBaseline(violations=v, applicable=n)},
        cases={
            k: CaseBaseline(
                n_scored=m, passes=m - x, rules={rule: RuleBaseline(violations=x, applicable=m)}
            )
            for k, (x, m) in cases.items()
        },
    )


def _unpaired(cell: CellBaseline) -> CellBaseline:
    return cell.model_copy(update={"cases": {}})


def test_the_gate_compares_within_cases_when_the_case_mix_differs() -> None:
    # The hard case always fails and the easy one never does, in both runs; the current run
    # lost most samples of the easy case (provider errors), so the pooled rate jumps.
    base = _paired({"hard": (6, 6), "easy": (0, 24)})
    cur = _paired({"hard": (6, 6), "easy": (0, 3)})
    unpaired = compare_cell("t", "m", _unpaired(base), _unpaired(cur), GATE)
    assert {c.metric for c in unpaired.regressions} == {"EXC001", "pass-rate"}
    stratified = compare_cell("t", "m", base, cur, GATE)
    assert stratified.regressions == ()
    # No case varies, so no case carries evidence.
    assert {c.p_value for c in stratified.changes} == {1.0}


def test_a_rise_within_cases_is_tested_on_the_case_counts() -> None:
    base_counts = {"a": (3, 3), "b": (0, 3), "c": (0, 3), "d": (0, 3), "e": (0, 3)}
    cur_counts = {"a": (3, 3), "b": (3, 3), "c": (2, 3), "d": (2, 3), "e": (0, 3)}
    verdict = compare_cell("t", "m", _paired(base_counts), _paired(cur_counts), GATE)
    strata = [(*cur_counts[k], *base_counts[k]) for k in sorted(base_counts)]
    rule = next(c for c in verdict.changes if c.metric == "EXC001")
    assert rule.p_value == pytest.approx(stratified_one_sided(strata))
    # The case that always fails is no evidence; within the others the rise is clear, and
    # clearer than the pooled counts say.
    assert rule.kind is Kind.REGRESSION
    assert rule.p_value < one_sided_two_proportion_test(10, 15, 3, 15)


def test_new_template_and_model_are_reported_without_failing() -> None:
    base = TemplateBaseline(
        template="a",
        template_hash="h",
        min_score=80,
        models={"m1": _cell(1, 1, {})},
        recordings="recordings/a.jsonl",
    )
    verdicts = compare(
        {"a": base},
        {"a": {"m1": _cell(1, 1, {}), "m2": _cell(1, 1, {})}, "b": {"m1": _cell(1, 1, {})}},
        GATE,
    )
    assert [(v.template, v.model, v.status) for v in verdicts] == [
        ("a", "m1", "compared"),
        ("a", "m2", "new-model"),
        ("b", "m1", "new-template"),
    ]


def test_check_without_golden_is_a_usage_error(project: Path) -> None:
    assert main(["check", "--offline"]) == 2


def test_malformed_golden_file_names_the_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "golden").mkdir()
    (project / "golden" / "x.json").write_text("{not json")
    assert main(["check", "--offline"]) == 2
    assert "x.json" in capsys.readouterr().err
    with pytest.raises(Exception, match="invalid golden baseline"):
        read_baselines(project / "golden")


def _summary(run_dir: Path) -> dict:
    data = json.loads((run_dir / "summary.json").read_text())
    return {"cells": data["cells"], "ranking": data["ranking"]}


def test_shards_merge_to_the_unsharded_aggregates(project: Path) -> None:
    out = project / "reports"
    args = ["evaluate", "--offline", "--samples", "2", "--out", str(out)]
    assert main([*args, "--run-id", "full"]) == 0
    assert main([*args, "--run-id", "s1", "--shard", "1/2"]) == 0
    assert main([*args, "--run-id", "s2", "--shard", "2/2"]) == 0
    n1 = len((out / "s1" / "results.jsonl").read_text().splitlines())
    n2 = len((out / "s2" / "results.jsonl").read_text().splitlines())
    full = len((out / "full" / "results.jsonl").read_text().splitlines())
    assert n1 and n2 and n1 + n2 == full
    assert (
        main(["merge", str(out / "s1"), str(out / "s2"), "--out", str(out), "--run-id", "m"]) == 0
    )
    assert _summary(out / "m") == _summary(out / "full")


def test_merge_refuses_a_missing_or_repeated_shard(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "reports"
    args = ["evaluate", "--offline", "--samples", "1", "--out", str(out), "--templates"]
    args.append("sqlalchemy_model")
    for i in (1, 2):
        assert main([*args, "--run-id", f"s{i}", "--shard", f"{i}/3"]) == 0
    capsys.readouterr()
    merge = ["merge", "--out", str(out)]
    assert main([*merge, "--run-id", "m1", str(out / "s1"), str(out / "s2")]) == 2
    assert "missing shard(s) 3/3 of 3" in capsys.readouterr().err
    assert main([*merge, "--run-id", "m2", str(out / "s1"), str(out / "s1")]) == 2
    assert "shard 1/3 given twice" in capsys.readouterr().err
    assert not (out / "m1").exists() and not (out / "m2").exists()


def test_golden_update_shows_the_change_and_refuses_a_regression(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = ["--templates", "pydantic_schemas", "--models", "careful"]
    assert main(["golden", "update", "--offline", *one]) == 0
    capsys.readouterr()
    # The careful alias now answers like the sloppy model: a regression.
    cfg = project / "harness.yaml"
    cfg.write_text(cfg.read_text().replace("model: sim/careful", "model: sim/sloppy"))
    before = (project / "golden" / "pydantic_schemas.json").read_text()
    code = main(["golden", "update", "--offline", *one])
    out = capsys.readouterr()
    assert code == 1
    assert "refusing to bless" in out.err and "regressed" in out.err
    assert "pydantic_schemas/careful" in out.out and "regression" in out.out
    assert (project / "golden" / "pydantic_schemas.json").read_text() == before
    assert main(["golden", "update", "--offline", "--force", *one]) == 0
    assert (project / "golden" / "pydantic_schemas.json").read_text() != before


def test_golden_update_refuses_templates_with_lint_errors(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project / "prompt_templates" / "pydantic_schemas.yaml"
    text = path.read_text()
    # The prompt no longer holds an instruction a rule links to: lint error TPL009.
    line = "  - Use UUID for all ids\n"
    assert line in text
    path.write_text(text.replace(line, "", 1))
    code = main(["golden", "update", "--offline", "--templates", "pydantic_schemas"])
    err = capsys.readouterr().err
    assert code == 1
    assert "refusing to bless" in err and "pydantic_schemas has 1 lint error(s) (TPL009)" in err
    assert not (project / "golden" / "pydantic_schemas.json").exists()


def test_check_json_and_quiet_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["golden", "update", "--offline", "--templates", "sqlalchemy_model"]) == 0
    capsys.readouterr()
    args = ["check", "--offline", "--templates", "sqlalchemy_model"]
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["exit_code"] == 0 and data["replayed"] == ["sqlalchemy_model"]
    assert data["simulated"] and all(c["status"] == "compared" for c in data["cells"])
    assert main([*args, "-q"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("no regression")
    assert main([*args, "-v"]) == 0
    assert "sqlalchemy_model/careful: unchanged" in capsys.readouterr().out
