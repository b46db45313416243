"""Ruff in one batch, mapped to Findings."""

from __future__ import annotations

import pytest

from harness.code import ruff as ruff_mod
from harness.code.ruff import ruff_version, run_ruff
from harness.code.unit import CodeUnit
from harness.errors import ToolError
from harness.findings import Severity


def test_undefined_name_maps_to_a_finding() -> None:
    units = [
        CodeUnit("def slugify(value: str) -> str:\n    return normalize(value)\n", "app/utils.py"),
        CodeUnit("x = 1\n", "app/clean.py"),
    ]
    per_unit = run_ruff(units, ["F"])
    assert len(per_unit) == 2
    (finding,) = per_unit[0]
    assert finding.code == "ruff:F821"
    assert finding.name == "undefined-name"
    assert "normalize" in finding.message
    assert (finding.line, finding.col, finding.end_line, finding.end_col) == (2, 12, 2, 21)
    assert finding.severity is Severity.ERROR
    assert finding.path == "app/utils.py"
    assert per_unit[1] == ()


def test_results_stay_with_their_unit_when_paths_repeat() -> None:
    units = [CodeUnit("import os\n", "gen.py"), CodeUnit("y = z\n", "gen.py")]
    first, second = run_ruff(units, ["ruff:F"])
    assert [f.code for f in first] == ["ruff:F401"]
    assert [f.code for f in second] == ["ruff:F821"]


def test_non_pyflakes_codes_are_warnings_and_ignore_works() -> None:
    src = "def f(x=[]):\n    return x\n"
    (findings,) = run_ruff([CodeUnit(src, "a.py")], ["B"])
    assert [f.code for f in findings] == ["ruff:B006"]
    assert findings[0].severity is Severity.WARNING
    assert run_ruff([CodeUnit(src, "a.py")], ["B"], ignore=["ruff:B006"]) == [()]


def test_syntax_errors_are_left_to_the_engine() -> None:
    per_unit = run_ruff([CodeUnit("def f(:\n", "bad.py")], ["F", "E9"])
    assert per_unit == [()]


def test_empty_batch_and_empty_selection_run_nothing() -> None:
    assert run_ruff([], ["F"]) == []
    assert run_ruff([CodeUnit("import os\n")], []) == [()]


def test_bad_selector_is_a_tool_error() -> None:
    with pytest.raises(ToolError, match="NOPE123"):
        run_ruff([CodeUnit("x = 1\n")], ["NOPE123"])


def test_missing_ruff_is_a_tool_error_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    ruff_mod.ruff_command.cache_clear()
    monkeypatch.setattr(ruff_mod.shutil, "which", lambda *a, **k: None)
    monkeypatch.setattr(ruff_mod.importlib.util, "find_spec", lambda name: None)
    try:
        with pytest.raises(ToolError) as info:
            run_ruff([CodeUnit("x = 1\n")], ["F"])
        assert "pip install ruff" in (info.value.hint or "")
    finally:
        ruff_mod.ruff_command.cache_clear()


def test_version() -> None:
    version = ruff_version()
    assert version[0].isdigit()
    assert version.count(".") >= 1


def test_harness_ignore_comments_suppress_ruff_findings_on_their_line() -> None:
    source = (
        "import os  # harness: ignore[ruff:F401]\n"
        "import sys  # harness: ignore\n"
        "import json  # harness: ignore[EXC001]\n"
        "import re  # harness: ignore[Ruff:f401, EXC001]\n"
        "s = 'import abc  # harness: ignore'\n"
        "import abc\n"
    )
    (found,) = run_ruff([CodeUnit(source, "app/x.py")], ["F401"])
    assert [(f.code, f.line) for f in found] == [("ruff:F401", 3), ("ruff:F401", 6)]


def test_fastapi_parameter_defaults_are_not_function_calls_in_defaults() -> None:
    source = (
        "import time\n"
        "from fastapi import Depends, Query\n\n"
        "def get_db():\n    return None\n\n"
        "def route(db=Depends(get_db), q: str = Query(None)):\n    return db, q\n\n"
        "def stamp(at=time.time()):\n    return at\n"
    )
    [found] = run_ruff([CodeUnit(source, path="routes.py")], ["B008"])
    assert [(f.code, f.line) for f in found] == [("ruff:B008", 10)]
