"""A run stored by an earlier harness version is rebuilt byte for byte by `harness report`.

The fixture holds that run's `run.json` and `results.jsonl`, the reports the earlier version
wrote from them, and the rule docs as they were then (reports embed rule docs, which are
content that changes on purpose).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.registry import RuleBase

FIXTURE = Path(__file__).parent / "fixtures" / "stored_run"
REPORTS = ("report.html", "summary.json", "summary.md", "junit.xml", "findings.sarif")


def test_report_rebuilds_a_stored_run_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    then = json.loads((FIXTURE / "rule_docs.json").read_text())
    monkeypatch.setattr(RuleBase, "docs", classmethod(lambda cls: then[cls.code]))
    run = tmp_path / "run"
    run.mkdir()
    for name in ("run.json", "results.jsonl"):
        shutil.copy(FIXTURE / name, run / name)
    result = CliRunner().invoke(cli, ["report", str(run)])
    assert result.exit_code == 0, result.output
    for name in REPORTS:
        assert (run / name).read_bytes() == (FIXTURE / name).read_bytes(), name
