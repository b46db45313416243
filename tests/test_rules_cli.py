"""`harness rules` and `harness rules CODE`."""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.commands.rules import suggestions
from harness.registry import DOC_SECTIONS, all_rules


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_is_plain_aligned_text_when_not_a_tty(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["rules"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["CODE", "NAME", "FAMILY", "SEVERITY", "MESSAGE"]
    rules = all_rules()
    assert len(lines) == len(rules) + 1
    name_col = lines[0].index("NAME")
    for line, (code_, rule) in zip(lines[1:], rules.items(), strict=True):
        assert line.startswith(code_)
        assert line[name_col:].startswith(rule.name)
        assert line.endswith(rule.message)
        assert "\x1b[" not in line


def test_list_includes_template_and_code_rules(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(["rules"], capsys)
    codes = {line.split()[0] for line in out.splitlines()[1:]}
    assert "EXC002" in codes
    assert any(c.startswith("TPL") for c in codes)


def test_list_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["rules", "--format", "json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert [r["code"] for r in rows] == list(all_rules())
    bare = next(r for r in rows if r["code"] == "EXC002")
    assert bare == {
        "code": "EXC002",
        "name": "bare-except",
        "family": "EXC",
        "severity": "error",
        "message": all_rules()["EXC002"].message,
    }


@pytest.mark.parametrize("key", ["EXC002", "exc002", "bare-except"])
def test_one_rule_prints_its_docs(key: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["rules", key], capsys)
    assert code == 0
    rule = all_rules()["EXC002"]
    assert out.startswith("# bare-except (EXC002)\n")
    assert f"Message: {rule.message}" in out
    assert f"Examples: {len(rule.valid)} valid, {len(rule.invalid)} invalid." in out
    for section in DOC_SECTIONS:
        assert f"## {section}" in out
    assert rule.docs() in out


def test_one_rule_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["rules", "EXC002", "--format", "json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["name"] == "bare-except"
    assert data["docs"].startswith("## What it does")
    assert len(data["invalid"]) == len(all_rules()["EXC002"].invalid)
    assert data["invalid"][0]["line"] == all_rules()["EXC002"].invalid[0].line


def test_unknown_rule_exits_two_with_suggestions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["rules", "EXC02"], capsys)
    assert code == 2
    assert out == ""
    assert "unknown rule 'EXC02'" in err
    assert "EXC002" in err
    code, _, err = _run(["rules", "bare-exept"], capsys)
    assert code == 2
    assert "bare-except" in err
    code, _, err = _run(["rules", "zzzzzz"], capsys)
    assert code == 2
    assert "Did you mean" not in err


def test_suggestions_rank_close_matches() -> None:
    assert suggestions("EXC02", all_rules())[0] in ("EXC002", "EXC001")
    assert suggestions("bare-exept", all_rules())[0] == "bare-except"
