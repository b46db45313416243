"""A run stored by an earlier harness version is rebuilt byte for byte by `harness report`."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from harness.cli import cli

FIXTURE = Path(__file__).parent / "fixtures" / "stored_run"
REPORTS = ("report.html", "summary.json", "summary.md", "junit.xml", "findings.sarif")


def test_report_rebuilds_a_stored_run_byte_for_byte(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name in ("run.json", "results.jsonl"):
        shutil.copy(FIXTURE / name, run / name)
    result = CliRunner().invoke(cli, ["report", str(run)])
    assert result.exit_code == 0, result.output
    for name in REPORTS:
        assert (run / name).read_bytes() == (FIXTURE / name).read_bytes(), name
