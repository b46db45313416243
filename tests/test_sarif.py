"""SARIF 2.1.0 output, validated against the schema in tests/data."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness.findings import Finding, Severity
from harness.record import (
    ResultsWriter,
    RunMeta,
    SampleResult,
    UnitRecord,
    iter_results,
)
from harness.registry import all_rules
from harness.report.sarif import PARSE_ERROR, sarif_for_files, sarif_for_run, write_sarif_run

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
VALIDATOR = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


def _valid(log: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def _finding(code: str, line: int, severity: Severity = Severity.ERROR, path: str = "") -> Finding:
    name = all_rules()[code].name if code in all_rules() else code.removeprefix("ruff:")
    return Finding(code, name, f"msg {code}", line, 5, line, 12, severity, path)


def test_schema_rejects_what_sarif_forbids() -> None:
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": []}]}
    _valid(bad)
    bad["runs"][0]["results"] = [{"message": {"text": "m"}, "level": "fatal"}]
    assert list(VALIDATOR.iter_errors(bad))
    bad["runs"][0]["results"] = [{"message": {"text": "m"}, "bogus": 1}]
    assert list(VALIDATOR.iter_errors(bad))
    assert list(VALIDATOR.iter_errors({"version": "2.0.0", "runs": []}))


def test_files_log_is_valid_and_indexes_rules() -> None:
    log = sarif_for_files(
        [
            (
                "app/services/user_service.py",
                [_finding("EXC002", 33), _finding("ruff:F821", 5), _finding("EXC002", 40)],
            ),
            ("app/clean.py", []),
            ("app/broken.py", [Finding(PARSE_ERROR, PARSE_ERROR, "invalid syntax", 4, 26, 4, 26)]),
            ("/abs/path with space/x.py", [_finding("EXC001", 2, Severity.WARNING)]),
        ]
    )
    _valid(log)
    assert log["version"] == "2.1.0"
    assert log["$schema"].startswith("https://")
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "prompt-harness"
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(set(ids))
    assert set(ids) == {"EXC001", "EXC002", "ruff:F821", PARSE_ERROR}
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        loc = result["locations"][0]["physicalLocation"]
        assert (
            run["artifacts"][loc["artifactLocation"]["index"]]["location"]["uri"]
            == (loc["artifactLocation"]["uri"])
        )
    first = run["results"][0]
    assert first["ruleId"] == "EXC002"
    assert first["level"] == "error"
    assert first["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 33,
        "startColumn": 5,
        "endLine": 33,
        "endColumn": 12,
    }
    uris = [a["location"]["uri"] for a in run["artifacts"]]
    assert uris == [
        "app/services/user_service.py",
        "app/clean.py",
        "app/broken.py",
        "file:///abs/path%20with%20space/x.py",
    ]
    warning = next(r for r in run["results"] if r["ruleId"] == "EXC001")
    assert warning["level"] == "warning"


def test_rule_metadata_comes_from_the_registry_docs() -> None:
    log = sarif_for_files([("a.py", [_finding("EXC002", 3), _finding("ruff:F821", 1)])])
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    bare = all_rules()["EXC002"]
    assert rules["EXC002"]["name"] == "bare-except"
    assert rules["EXC002"]["shortDescription"]["text"] == bare.message
    full = rules["EXC002"]["fullDescription"]["text"]
    assert full.startswith("Flags a bare `except:` clause.") and "EXC001" in full
    assert rules["EXC002"]["help"]["markdown"] == bare.docs()
    assert rules["EXC002"]["defaultConfiguration"]["level"] == "error"
    assert rules["ruff:F821"]["name"] == "F821" or rules["ruff:F821"]["name"]
    assert rules["ruff:F821"]["defaultConfiguration"]["level"] == "error"


def _meta() -> RunMeta:
    return RunMeta(run_id="r1", harness_version="0.1.0", started_at="2024-01-01T00:00:00Z")


def _sample(**kw: Any) -> SampleResult:
    base: dict[str, Any] = {
        "template": "fastapi-service",
        "template_hash": "h",
        "case": "users",
        "model": "careful",
        "model_string": "sim/careful",
        "sample": 0,
        "key": "k",
        "status": "scored",
    }
    return SampleResult(**{**base, **kw})


SRC = "try:\n    f()\nexcept:\n    pass\n"


def _run_samples() -> list[SampleResult]:
    src = SRC
    finding = _finding("EXC002", 3)
    return [
        _sample(units=(UnitRecord(path="generated.py", source=src),), findings=(finding,)),
        _sample(
            sample=1,
            model="sloppy",
            units=(
                UnitRecord(path="app/models.py", source="x = 1\n"),
                UnitRecord(path="app/services/user_service.py", source=src),
            ),
            findings=(dataclasses.replace(_finding("EXC002", 3), unit=1),),
        ),
        _sample(
            case="orders",
            status="parse-error",
            units=(UnitRecord(path="g.py", source="def f(:\n", parse_error="1:7: invalid syntax"),),
        ),
        _sample(case="empty", status="no-code", detail="no code block"),
        _sample(case="boom", status="provider-error", error="HTTP 500"),
    ]


def test_run_log_has_virtual_artifacts_with_the_generated_code() -> None:
    src = SRC
    samples = _run_samples()
    log = sarif_for_run(_meta(), iter(samples))
    _valid(log)
    run = log["runs"][0]
    artifacts = {a["location"]["uri"]: a for a in run["artifacts"]}
    assert set(artifacts) == {
        "generated/fastapi-service/careful/users-0.py",
        "generated/fastapi-service/sloppy/users-1/app/models.py",
        "generated/fastapi-service/sloppy/users-1/app/services/user_service.py",
        "generated/fastapi-service/careful/orders-0.py",
    }
    assert artifacts["generated/fastapi-service/careful/users-0.py"]["contents"]["text"] == src
    by_uri = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in run["results"]
    }
    first = by_uri["generated/fastapi-service/careful/users-0.py"]
    assert first["ruleId"] == "EXC002"
    assert first["properties"] == {
        "template": "fastapi-service",
        "model": "careful",
        "case": "users",
        "sample": 0,
        "status": "scored",
    }
    assert "generated/fastapi-service/sloppy/users-1/app/services/user_service.py" in by_uri
    parse = by_uri["generated/fastapi-service/careful/orders-0.py"]
    assert parse["ruleId"] == PARSE_ERROR
    assert parse["level"] == "error"
    region = parse["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (1, 7)
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    assert [n["level"] for n in notes] == ["warning", "error"]
    assert "no-code" in notes[0]["message"]["text"]
    assert "HTTP 500" in notes[1]["message"]["text"]
    assert run["automationDetails"]["id"] == "prompt-harness/r1"


@pytest.mark.parametrize("name", ["we ird/name", "..", "a:b"])
def test_virtual_paths_are_safe_uri_segments(name: str) -> None:
    sample = _sample(template=name, case=name, units=(UnitRecord(path="g.py", source="x=1\n"),))
    log = sarif_for_run(_meta(), [sample])
    _valid(log)
    (artifact,) = log["runs"][0]["artifacts"]
    uri = artifact["location"]["uri"]
    assert uri.startswith("generated/")
    assert " " not in uri and "/../" not in uri and ":" not in uri


def _write(path: Path, samples: list[SampleResult]) -> Path:
    with ResultsWriter(path) as writer:
        for sample in samples:
            writer.write(sample)
    return path


def _streamed_equals_in_memory(tmp_path: Path, meta: RunMeta, results: Path) -> dict[str, Any]:
    out = write_sarif_run(tmp_path / "findings.sarif", meta, results)
    text = out.read_text(encoding="utf-8")
    assert text == json.dumps(sarif_for_run(meta, iter_results(results)), indent=2) + "\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    log = json.loads(text)
    _valid(log)
    return log


def test_streamed_run_log_is_the_in_memory_log(tmp_path: Path) -> None:
    samples = _run_samples()
    # A repeated sample shares its artifacts; a finding pointing past the units is dropped;
    # a parse error without a unit-level message falls back to the sample's detail.
    samples += [
        samples[0],
        _sample(
            case="stray",
            units=(UnitRecord(path="a.py", source="x = 1\n"),),
            findings=(dataclasses.replace(_finding("EXC002", 1), unit=3),),
        ),
        _sample(
            case="detail",
            status="parse-error",
            detail="line 4, column 2: bad",
            units=(UnitRecord(path="a.py", source="def (:\n"),),
        ),
        _sample(
            case="ruff",
            units=(UnitRecord(path="b.py", source="y\n"),),
            findings=(_finding("ruff:F821", 1, Severity.WARNING),),
        ),
    ]
    meta = _meta().model_copy(update={"git_commit": "abc123"})
    log = _streamed_equals_in_memory(tmp_path, meta, _write(tmp_path / "results.jsonl", samples))
    run = log["runs"][0]
    uris = [a["location"]["uri"] for a in run["artifacts"]]
    assert len(uris) == len(set(uris)) == 7
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [
        "EXC002",
        PARSE_ERROR,
        "ruff:F821",
    ]
    for result in run["results"]:
        loc = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert uris[loc["index"]] == loc["uri"]
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    detail = next(r for r in run["results"] if r["properties"]["case"] == "detail")
    assert detail["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 4,
        "startColumn": 2,
    }
    assert run["properties"]["gitCommit"] == "abc123"


def test_streamed_run_log_without_results(tmp_path: Path) -> None:
    empty = tmp_path / "results.jsonl"
    empty.touch()
    log = _streamed_equals_in_memory(tmp_path, _meta(), empty)
    run = log["runs"][0]
    assert run["results"] == [] and run["artifacts"] == []
    assert run["invocations"] == [{"executionSuccessful": True}]


def test_streamed_run_log_of_the_report_fixture(tmp_path: Path) -> None:
    from tests.report_run import build_run

    r = build_run(tmp_path / "run")
    log = _streamed_equals_in_memory(tmp_path, r.meta, r.results_path)
    assert {res["ruleId"] for res in log["runs"][0]["results"]} == {"EXC002"}
