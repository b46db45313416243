"""`harness check-code` end to end on a small tree that has every code rule in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.code.rule import CodeRule
from harness.registry import all_rules

FIXTURE = Path(__file__).parent / "fixtures" / "check_code"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text())

# The catalogue of code rules (fixed by the project brief).
CATALOGUE = {
    "EXC001": "broad-except-swallows-error",
    "EXC002": "bare-except",
    "PYD001": "pydantic-v1-config-class",
    "PYD002": "pydantic-v1-config-key",
    "PYD003": "pydantic-v1-api",
    "PYD004": "read-model-without-from-attributes",
    "PYD005": "email-field-as-plain-str",
    "PYD006": "unbounded-str-input-field",
    "PYD007": "field-shadows-basemodel-attribute",
    "PYD008": "update-model-required-field",
    "PYD009": "create-model-server-generated-field",
    "PYD010": "catch-all-dict-or-any-field",
    "IDS001": "int-id-field",
    "SQA001": "legacy-column-attribute",
    "SQA002": "mapped-column-without-mapped-annotation",
    "SQA003": "model-without-tablename",
    "SQA004": "relationship-backref",
    "SQA005": "unindexed-foreign-key",
    "SQA006": "legacy-query-api",
    "SQA007": "legacy-declarative-base",
    "SQA008": "naive-utcnow-default",
    "SVC001": "http-exception-in-service",
    "SQL001": "sql-built-from-string-formatting",
    "TYP001": "async-def-missing-annotation",
}


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def _found(report: dict) -> set[tuple[str, str, int]]:
    found = set()
    for file in report["files"]:
        for f in file["findings"]:
            found.add((file["path"], f["code"], f["line"]))
        if file["problem"]:
            found.add((file["path"], file["problem"]["kind"], file["problem"]["line"]))
    return found


def test_registry_has_every_catalogue_rule() -> None:
    code_rules = {c: r.name for c, r in all_rules().items() if issubclass(r, CodeRule)}
    assert code_rules == CATALOGUE


def test_fixture_covers_every_catalogue_rule() -> None:
    covered = {f["code"] for f in EXPECTED["findings"]}
    assert set(CATALOGUE) <= covered


def test_check_code_reports_exactly_the_expected_findings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURE)
    code, out, _ = _run(["check-code", ".", "--format", "json", "--config", "harness.yaml"], capsys)
    expected = {(f["file"], f["code"], f["line"]) for f in EXPECTED["findings"]}
    assert _found(json.loads(out)) == expected
    assert code == 1


def test_text_output_and_summary(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURE)
    code, out, _ = _run(["check-code", "app", "--config", "harness.yaml"], capsys)
    lines = out.splitlines()
    assert code == 1
    assert "app/broken.py:4:26: parse-error: invalid syntax" in lines
    assert any(
        line.startswith("app/services/user_service.py:33:9: EXC002 [bare-except] ")
        for line in lines
    )
    assert any(line.startswith("app/utils.py:5:12: ruff:F821 [undefined-name] ") for line in lines)
    n = len(EXPECTED["findings"]) - 1
    assert lines[-1] == f"Found {n} findings, 1 file not checked in 9 files."
    assert not any(".venv" in line or "__pycache__" in line for line in lines)


def test_clean_file_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["check-code", str(FIXTURE / "app" / "routers" / "users.py")], capsys)
    assert code == 0, out
    assert out.strip() == "All checks passed (1 file checked)."


def test_select_and_ignore_cover_rules_and_ruff(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURE)
    base = ["check-code", "app", "--format", "json", "--config", "harness.yaml"]
    _, out, _ = _run([*base, "--select", "EXC,ruff:F"], capsys)
    codes = {c for _, c, _ in _found(json.loads(out))}
    assert codes == {"EXC001", "EXC002", "ruff:F821", "parse-error"}
    _, out, _ = _run([*base, "--select", "EXC", "--ignore", "EXC001"], capsys)
    assert {c for _, c, _ in _found(json.loads(out))} == {"EXC002", "parse-error"}
    _, out, _ = _run([*base, "--ignore", "ruff:F821"], capsys)
    assert "ruff:F821" not in {c for _, c, _ in _found(json.loads(out))}
    _, out, _ = _run([*base, "--no-ruff"], capsys)
    assert not any(c.startswith("ruff:") for _, c, _ in _found(json.loads(out)))


def test_role_override(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    helpers = tmp_path / "helpers.py"
    helpers.write_text(
        "from fastapi import HTTPException\n\n"
        "def require(found):\n"
        "    if not found:\n"
        "        raise HTTPException(status_code=404)\n"
    )
    base = ["check-code", str(helpers), "--no-ruff", "--select", "SVC001"]
    assert _run(base, capsys)[0] == 0
    code, out, _ = _run([*base, "--role", "service"], capsys)
    assert code == 1
    assert f"{helpers}:5:9: SVC001" in out
    # A route is HTTP code whatever the module's role.
    monkeypatch.chdir(FIXTURE)
    route = ["check-code", "app/routers/users.py", "--no-ruff", "--select", "SVC001"]
    assert _run([*route, "--role", "service"], capsys)[0] == 0


def test_usage_errors_exit_two(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert _run(["check-code", str(tmp_path / "missing.py")], capsys)[0] == 2
    assert _run(["check-code", str(FIXTURE), "--format", "xml"], capsys)[0] == 2
    code, _, err = _run(["check-code", str(FIXTURE), "--select", "NOPE"], capsys)
    assert code == 2
    assert "NOPE" in err
    assert _run(["check-code", str(FIXTURE), "--role", "wizard"], capsys)[0] == 2


def test_undecodable_and_unparsable_files_do_not_stop_the_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "a_latin1.py").write_bytes(b"name = '\xe9t\xe9'\n")
    (tmp_path / "b_broken.py").write_text("def f(:\n")
    (tmp_path / "c_ok.py").write_text("try:\n    f()\nexcept:\n    raise\n")
    code, out, _ = _run(["check-code", str(tmp_path), "--no-ruff", "--select", "EXC002"], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{tmp_path.as_posix()}/a_latin1.py:1:1: decode-error: ")
    assert lines[1].startswith(f"{tmp_path.as_posix()}/b_broken.py:1:7: parse-error: ")
    assert lines[2].startswith(f"{tmp_path.as_posix()}/c_ok.py:3:1: EXC002 ")


def test_output_file_and_sarif(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(FIXTURE)
    target = tmp_path / "out" / "findings.sarif"
    args = ["check-code", ".", "--format", "sarif", "--output", str(target)]
    code, out, err = _run([*args, "--config", "harness.yaml"], capsys)
    assert code == 1
    assert out == ""
    assert err.startswith("Found ")
    log = json.loads(target.read_text())
    results = log["runs"][0]["results"]
    got = {
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in results
    }
    assert got == {(f["file"], f["code"], f["line"]) for f in EXPECTED["findings"]}
