"""`harness lint`: planted defects found at their exact lines, output formats, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.registry import all_rules
from harness.templates.lint.engine import known_rule_codes

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "templates"
CONFIG = str(FIXTURES / "harness.yaml")

#: One planted defect per rule: file -> (code, line).
PLANTED = {
    "tpl001.yaml": ("TPL001", 7),
    "tpl002.yaml": ("TPL002", 7),
    "tpl003.yaml": ("TPL003", 5),
    "tpl004.yaml": ("TPL004", 23),
    "tpl005.yaml": ("TPL005", 23),
    "tpl006.yaml": ("TPL006", 7),
    "tpl007.yaml": ("TPL007", 5),
    "tpl008.yaml": ("TPL008", 5),
    "tpl009.yaml": ("TPL009", 19),
    "tpl010.yaml": ("TPL010", 11),
    "tpl011.yaml": ("TPL011", 19),
    "tpl012.yaml": ("TPL012", 21),
    "tpl013.yaml": ("TPL013", 7),
    "tpl015.yaml": ("TPL015", 1),
    "tpl014.yaml": ("TPL014", 21),
}


def _lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["lint", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code, out, _ = _lint(capsys, "--config", CONFIG, "--format", "json", *args)
    return code, json.loads(out)


def test_every_template_rule_has_a_planted_fixture() -> None:
    codes = {c for c in all_rules() if c.startswith("TPL")}
    assert codes == {code for code, _ in PLANTED.values()}


@pytest.mark.parametrize(("name", "expected"), sorted(PLANTED.items()))
def test_planted_defect_is_found_at_its_line(
    capsys: pytest.CaptureFixture[str], name: str, expected: tuple[str, int]
) -> None:
    code, data = _json(capsys, "--fail-level", "info", str(FIXTURES / "defects" / name))
    assert code == 1
    assert data["errors"] == []
    found = {(f["code"], f["line"]) for f in data["findings"]}
    assert expected in found, found
    # The planted defect is the only problem in the file.
    assert {c for c, _ in found} == {expected[0]}
    assert all(f["path"].endswith(name) for f in data["findings"])


def test_clean_fixture_has_no_findings(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = _json(capsys, "--fail-level", "info", str(FIXTURES / "clean"))
    assert (code, data["findings"], data["templates"]) == (0, [], 1)


def test_text_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _lint(capsys, "--config", CONFIG, str(FIXTURES / "defects" / "tpl003.yaml"))
    assert code == 1
    line = out.strip()
    assert line.endswith(": TPL003 warning: `table` is declared under `variables:` but never used")
    assert line.split(": ")[0].endswith("tpl003.yaml:5:3")
    assert "1 template(s) checked, 1 problem(s)" in err


def test_github_format(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(FIXTURES / "defects" / "tpl001.yaml")
    code, out, _ = _lint(capsys, "--config", CONFIG, "--format", "github", path)
    assert code == 1
    assert out.startswith("::error file=")
    assert ",line=7,col=1,title=TPL001::Jinja syntax error" in out


def test_fail_level_decides_the_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    info_only = str(FIXTURES / "defects" / "tpl010.yaml")  # TPL010 is info
    assert _lint(capsys, "--config", CONFIG, info_only)[0] == 0  # config: warning
    assert _lint(capsys, "--config", CONFIG, "--fail-level", "info", info_only)[0] == 1
    warning = str(FIXTURES / "defects" / "tpl003.yaml")  # TPL003 is a warning
    assert _lint(capsys, "--config", CONFIG, "--fail-level", "error", warning)[0] == 0


def test_select_and_ignore(capsys: pytest.CaptureFixture[str]) -> None:
    defects = str(FIXTURES / "defects")
    _, data = _json(capsys, "--select", "TPL001,TPL002", defects)
    assert {f["code"] for f in data["findings"]} == {"TPL001", "TPL002"}
    _, data = _json(capsys, "--ignore", "TPL00", "--ignore", "leftover-placeholder", defects)
    assert {f["code"] for f in data["findings"]} == {
        "TPL010",
        "TPL011",
        "TPL012",
        "TPL013",
        "TPL014",
        "TPL015",
    }


def test_config_ignore_and_exclude(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t").mkdir()
    for name in ("tpl003.yaml", "tpl007.yaml", "tpl008.yaml"):
        (tmp_path / "t" / name).write_text((FIXTURES / "defects" / name).read_text())
    config = tmp_path / "harness.yaml"
    config.write_text(
        "templates_dir: t\nlint:\n  exclude: ['tpl00[78].yaml']\n  ignore: [TPL003]\n"
    )
    code, out, err = _lint(capsys, "--config", str(config))
    assert (code, out) == (0, "")
    assert "1 template(s) checked" in err


def test_directory_with_a_bad_file_still_lints_the_others(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _lint(capsys, "--config", CONFIG, str(FIXTURES / "mixed"))
    assert code == 2  # a template that cannot be loaded is an input error
    lines = out.strip().splitlines()
    assert any(
        ln.endswith(
            "bad_schema.yml:23:5: error: `cases.1.vars`: Input should be a valid dictionary"
        )
        for ln in lines
    )
    assert any("broken.yaml:16:" in ln and ": error: invalid YAML" in ln for ln in lines)
    assert not any("TPL000" in ln for ln in lines)
    _, data = _json(capsys, str(FIXTURES / "mixed"))
    assert data["templates"] == 3 and len(data["errors"]) == 2 and data["findings"] == []


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _lint(capsys, "--config", CONFIG, str(tmp_path / "missing"))[0] == 2
    assert _lint(capsys, "--config", CONFIG, "--select", "NOPE1", str(FIXTURES / "clean"))[0] == 2
    assert _lint(capsys, "--format", "xml")[0] == 2
    bad = tmp_path / "harness.yaml"
    bad.write_text("lint: {fail_level: sometimes}\n")
    assert _lint(capsys, "--config", str(bad), str(FIXTURES / "clean"))[0] == 2


def test_default_path_is_the_config_templates_dir(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)
    code, data = _json(capsys, "--fail-level", "info")
    assert code == 1 and data["templates"] == len(PLANTED)


def test_conversational_template_is_flagged(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(ROOT / "prompt_templates" / "conversational.yaml")
    code, out, _ = _lint(capsys, "--config", str(ROOT / "harness.yaml"), path)
    assert code == 1
    assert "conversational.yaml:13:1: TPL007" in out
    assert "conversational.yaml:13:1: TPL008" in out


def test_shipped_templates_lint_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _lint(
        capsys, "--config", str(ROOT / "harness.yaml"), str(ROOT / "prompt_templates")
    )
    assert code == 0, out


def test_known_codes_read_statically_match_the_registry() -> None:
    script = (
        "import sys\n"
        "from harness.templates.lint.engine import known_rule_codes\n"
        "codes = known_rule_codes()\n"
        "assert 'libcst' not in sys.modules\n"
        "print(','.join(sorted(codes)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert set(out.stdout.strip().split(",")) == set(all_rules())
    assert known_rule_codes() == frozenset(all_rules())  # live registry when already imported


def test_lint_path_imports_no_heavy_modules() -> None:
    script = (
        "import sys\n"
        "from harness.cli import main\n"
        "code = main(['lint', 'prompt_templates/'])\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('litellm', 'rich', 'libcst')\n"
        "         or m.startswith('harness.code.rules')]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_every_load_error_on_its_own_line_and_sarif(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = (FIXTURES / "clean" / "clean.yaml").read_text()
    (tmp_path / "a.yaml").write_text(good)
    (tmp_path / "b.yaml").write_text(good)  # the same id
    (tmp_path / "c.yaml").write_text("id: BAD ID\ntemplate: 1\ncases: []\n")
    code, out, _ = _lint(capsys, str(tmp_path))
    assert code == 2
    lines = [ln for ln in out.splitlines() if ": error: " in ln]
    assert any("b.yaml:1:1: error: duplicate template id" in ln and "a.yaml" in ln for ln in lines)
    c_lines = [ln for ln in lines if "c.yaml:" in ln]
    assert len(c_lines) >= 2 and {ln.split(":")[1] for ln in c_lines} >= {"1", "3"}
    code, out, _ = _lint(capsys, "--format", "sarif", str(tmp_path))
    log = json.loads(out)
    results = log["runs"][0]["results"]
    assert code == 2 and any("duplicate template id" in r["message"]["text"] for r in results)
