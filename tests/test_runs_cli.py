"""`harness init`, `runs`, `view`, `diff`, `schema`, and `report` on the latest run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from harness.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    return tmp_path


def test_init_then_lint_and_an_offline_evaluate_work(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (project / "harness.yaml").is_file()
    assert (project / "prompt_templates" / "pydantic_schemas.yaml").is_file()
    assert {"reports/", ".harness/"} <= set((project / ".gitignore").read_text().splitlines())
    capsys.readouterr()
    assert _run(["lint"], capsys)[0] == 0
    code, _, _ = _run(["evaluate", "--offline", "--no-progress"], capsys)
    assert code == 0
    assert (project / "reports" / "latest" / "report.html").is_file()
    # init never overwrites.
    code, _, err = _run(["init"], capsys)
    assert code == 2 and "already exists" in err


def test_runs_lists_and_prunes_and_report_defaults_to_the_latest(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(3):
        assert main(["evaluate", "--no-progress", "--samples", "1"]) == 0
    capsys.readouterr()
    code, out, _ = _run(["runs", "--format", "json"], capsys)
    runs = json.loads(out)
    assert code == 0 and len(runs) == 3
    assert runs[0]["latest"] and [r["latest"] for r in runs[1:]] == [False, False]
    assert runs[0]["models"] == ["careful", "sloppy"] and runs[0]["mean_score"] is not None
    newest = runs[0]["run_id"]
    (project / "reports" / newest / "summary.md").unlink()
    code, _, _ = _run(["report", "--print", "none"], capsys)
    assert code == 0 and (project / "reports" / newest / "summary.md").is_file()
    code, out, _ = _run(["runs", "--prune", "1"], capsys)
    assert out.count("deleted") == 2
    assert [
        p.name for p in (project / "reports").iterdir() if p.is_dir() and not p.is_symlink()
    ] == [newest]


def test_diff_compares_two_runs_with_the_gate_statistics(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", "--no-progress", "--models", "careful", "--samples", "3"]) == 0
    capsys.readouterr()
    first = json.loads(_run(["runs", "--format", "json"], capsys)[1])[0]["run_id"]
    # The same template answered by the sloppy model under the careful alias: worse.
    cfg = project / "harness.yaml"
    cfg.write_text(cfg.read_text().replace("model: sim/careful", "model: sim/sloppy"))
    assert main(["evaluate", "--no-progress", "--models", "careful", "--samples", "3"]) == 0
    capsys.readouterr()
    second = json.loads(_run(["runs", "--format", "json"], capsys)[1])[0]["run_id"]
    code, out, _ = _run(["diff", first, second, "--format", "json"], capsys)
    data = json.loads(out)
    assert (data["a"], data["b"]) == (first, second)
    assert data["changes"] and all("p_value" in c for c in data["changes"])
    assert code == (1 if any(c["kind"] == "regression" for c in data["changes"]) else 0)
    code_md, md, _ = _run(["diff", first, second, "--format", "markdown"], capsys)
    assert md.startswith(f"### {second} vs {first}") and code_md == code


def test_view_serves_the_latest_report_on_localhost(project: Path) -> None:
    assert main(["evaluate", "--no-progress", "--samples", "1"]) == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "view"],
        cwd=project,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        url = line.split(": ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/report.html")
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = resp.read().decode()
        assert resp.status == 200 and "<html" in body.lower()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_view_of_a_missing_run_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["view", "nope"], capsys)
    assert code == 2 and "no run 'nope'" in err


@pytest.mark.parametrize("kind", ["template", "config"])
def test_schemas_ship_with_the_package_and_match_the_models(
    kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["schema", kind], capsys)
    shipped = (ROOT / "harness" / "schemas" / f"{kind}.json").read_text()
    assert code == 0 and json.loads(out) == json.loads(shipped)
    schema = json.loads(out)
    if kind == "template":
        assert {"id", "template", "cases", "expect"} <= set(schema["properties"])
    else:
        assert {"models", "profile", "gate"} <= set(schema["properties"])
        assert "root" not in schema["properties"]


def test_shipped_templates_validate_against_the_schema() -> None:
    import jsonschema  # a dependency of litellm
    import yaml

    schema = json.loads((ROOT / "harness" / "schemas" / "template.json").read_text())
    for path in sorted((ROOT / "prompt_templates").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
