"""The pytest plugin: `pytest --harness` turns template x model pairs into gate items."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import harness.checker
import harness.gate
import harness.pytest_plugin  # noqa: F401
from harness.cli import main
from harness.llm import load_litellm, sim

pytest_plugins = ["pytester"]
# pytester drops from sys.modules what a test imports, and neither yaml's C loader nor
# litellm survives a second import in one process: import them before any test runs.
load_litellm()
sim.register()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def gated_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = pytester.path
    shutil.copytree(ROOT / "prompt_templates", root / "prompt_templates")
    shutil.copy(ROOT / "harness.yaml", root / "harness.yaml")
    monkeypatch.chdir(root)
    assert (
        main(["golden", "update", "--offline", "--templates", "sqlalchemy_model,service_layer"])
        == 0
    )
    # Keep the check small: only the blessed templates stay in the project.
    for path in (root / "prompt_templates").glob("*.yaml"):
        if path.stem not in ("sqlalchemy_model", "service_layer"):
            path.unlink()
    return root


def test_unchanged_templates_pass_as_items(pytester: pytest.Pytester, gated_project: Path) -> None:
    result = pytester.runpytest("--harness", "--harness-offline", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=6)  # 2 templates x 3 models
    result.stdout.fnmatch_lines(["*sqlalchemy_model[[]careful[]]*PASSED*"])


def test_removed_instruction_fails_its_item_with_the_table(
    pytester: pytest.Pytester, gated_project: Path
) -> None:
    path = gated_project / "prompt_templates" / "sqlalchemy_model.yaml"
    path.write_text(
        "".join(
            ln
            for ln in path.read_text().splitlines(keepends=True)
            if ln.strip() != "- Use UUID for all ids"
        )
    )
    result = pytester.runpytest("--harness", "--harness-offline", "-p", "no:cacheprovider", "-rf")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1
    assert outcomes.get("passed", 0) >= 3  # service_layer items are untouched
    text = result.stdout.str()
    assert "sqlalchemy_model[careful]" in text
    assert "IDS001" in text and "regression" in text


def test_plugin_is_inert_without_the_flag(pytester: pytest.Pytester, gated_project: Path) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_harness_only_runs_just_the_harness_items_and_k_counts_are_right(
    pytester: pytest.Pytester, gated_project: Path
) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest("--harness-only", "--harness-offline", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6, deselected=1)  # the project's own test is not run
    result = pytester.runpytest(
        "--harness-only", "--harness-offline", "-p", "no:cacheprovider", "--co", "-k", "careful"
    )
    text = result.stdout.str()
    assert "2/7 tests collected (5 deselected)" in text, text
    assert "-" not in text.split("tests collected")[0].split()[-1]  # no negative counts


def test_an_item_id_on_the_command_line_runs_that_item(
    pytester: pytest.Pytester, gated_project: Path
) -> None:
    item = "prompt_templates/service_layer.yaml::service_layer[careful]"
    result = pytester.runpytest(
        "--harness-only", "--harness-offline", "-p", "no:cacheprovider", "-v", item
    )
    result.assert_outcomes(passed=1)
    line = "*prompt_templates/service_layer.yaml::service_layer[[]careful[]]*PASSED*"
    result.stdout.fnmatch_lines([line])
