"""Validation that reports everything: config errors in one pass, each with file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.config import load_config
from harness.errors import ConfigError


def test_every_config_error_has_its_line(tmp_path: Path) -> None:
    cfg = tmp_path / "harness.yaml"
    cfg.write_text("samples: zero\nmodels:\n  - {alias: a}\nlimits: {timeout: -1}\nbogus: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    found = [(e.line, e.message.split(":")[0]) for e in info.value.all()]
    assert found == [
        (1, "samples"),
        (3, "models.0.model"),
        (4, "limits.timeout"),
        (5, "bogus"),
    ]
    assert all(e.path == str(cfg) and e.col for e in info.value.all())


def test_the_cli_prints_each_config_error_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "harness.yaml"
    cfg.write_text("samples: zero\nbogus: 1\n")
    code = main(["lint", "--config", str(cfg), str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{cfg}:1:1: samples:" in err and f"{cfg}:2:1: bogus:" in err


def test_store_refuses_a_store_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "typo.sqlite"
    code = main(["store", "--store", str(typo), "stats"])
    assert code == 2 and not typo.exists()
    assert "no response store here" in capsys.readouterr().err
    export = tmp_path / "in.jsonl"
    export.write_text("")
    assert main(["store", "--store", str(typo), "import", str(export)]) == 0  # writing creates
    assert typo.exists()


def test_quiet_and_verbose_output(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parent.parent
    project = str(root / "tests" / "fixtures" / "project")
    assert main(["check-code", "-q", "--no-ruff", project]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("Found ")
    assert main(["check-code", "-v", "--no-ruff", project]) == 1
    assert any(line.endswith("app/deps.py: ok") for line in capsys.readouterr().out.splitlines())
    conversational = str(root / "prompt_templates" / "conversational.yaml")
    assert main(["lint", "-v", conversational]) == 1
    captured = capsys.readouterr()
    assert "[missing-output-format-instruction]" in captured.out and "checked" in captured.err
    assert main(["lint", "-q", conversational]) == 1
    assert "checked" not in capsys.readouterr().err
