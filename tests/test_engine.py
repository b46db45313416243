"""The engine: one parse, batched rules, positions, suppressions, parse errors."""

from __future__ import annotations

from harness.code.engine import RuleSet, check_unit
from harness.code.unit import CodeUnit, Role

BARE = RuleSet.build(select=["EXC002"])


def _codes_lines(source: str, ruleset: RuleSet = BARE) -> list[tuple[str, int]]:
    result = check_unit(CodeUnit(source, "x.py"), ruleset)
    assert result.status == "ok", result.parse_error
    return [(f.code, f.line) for f in result.findings]


def test_finding_positions_are_one_based_with_end() -> None:
    src = "def g():\n    try:\n        f()\n    except:\n        raise\n"
    result = check_unit(CodeUnit(src, "svc.py"), BARE)
    (finding,) = result.findings
    assert (finding.line, finding.col) == (4, 5)
    assert (finding.end_line, finding.end_col) == (5, 14)
    assert finding.path == "svc.py"
    assert finding.name == "bare-except"


def test_positions_when_a_statement_follows_the_reported_node() -> None:
    src = "def g():\n    try:\n        f()\n    except:\n        raise\n    return 1\n"
    assert _codes_lines(src) == [("EXC002", 4)]


def test_several_findings_are_sorted() -> None:
    src = (
        "try:\n    a()\nexcept:\n    raise\n"
        "def h():\n    try:\n        b()\n    except:\n        raise\n    x = 1\n"
    )
    assert _codes_lines(src) == [("EXC002", 3), ("EXC002", 8)]


def test_suppression_with_code() -> None:
    src = "try:\n    f()\nexcept:  # harness: ignore[EXC002]\n    raise\n"
    result = check_unit(CodeUnit(src), BARE)
    assert result.findings == ()
    assert result.suppressed == 1


def test_suppression_of_another_code_does_not_hide() -> None:
    src = "try:\n    f()\nexcept:  # harness: ignore[EXC001, SQA001]\n    raise\n"
    assert _codes_lines(src) == [("EXC002", 3)]


def test_bare_suppression_hides_every_code() -> None:
    src = "try:\n    f()\nexcept:  # harness: ignore\n    raise\n"
    assert _codes_lines(src) == []
    # Lower case codes and extra spaces work too.
    src = "try:\n    f()\nexcept:  #harness:ignore[ exc002 ]\n    raise\n"
    assert _codes_lines(src) == []


def test_strings_and_docstrings_mentioning_except_do_not_fire() -> None:
    src = (
        '"""Module doc: try: f() except: pass"""\n'
        'MSG = "never write except: pass"\n'
        "def f():\n    '''except:'''\n    return 'except:'\n"
    )
    assert _codes_lines(src) == []


def test_parse_error_line_and_col() -> None:
    result = check_unit(CodeUnit("x = 1\n\ndef create(name: str:\n    return name\n"))
    assert result.status == "parse-error"
    assert result.findings == ()
    assert result.parse_error is not None
    assert (result.parse_error.line, result.parse_error.col) == (3, 21)
    assert result.parse_error.message


def test_parse_error_unclosed_bracket() -> None:
    result = check_unit(CodeUnit("x = 1\nitems = [\n    1,\n"))
    assert result.status == "parse-error"
    assert result.parse_error is not None
    assert result.parse_error.line == 2
    assert "never closed" in result.parse_error.message


def test_role_limited_rule_applies_by_role() -> None:
    src = "from fastapi import HTTPException\n\ndef f():\n    raise HTTPException(404)\n"
    rs = RuleSet.build(select=["SVC001"])
    service = check_unit(CodeUnit(src, "s.py", Role.SERVICE), rs)
    router = check_unit(CodeUnit(src, "r.py", Role.ROUTER), rs)
    assert [f.line for f in service.findings] == [4]
    assert "SVC001" in service.applicable
    assert router.findings == ()
    assert "SVC001" not in router.applicable


def test_select_and_ignore_build_the_ruleset() -> None:
    every = RuleSet.build()
    codes = {r.code for r in every.rules}
    assert {"EXC001", "EXC002"} <= codes
    assert all(not c.startswith("TPL") for c in codes)
    assert {r.code for r in RuleSet.build(select=["EXC"]).rules} == {"EXC001", "EXC002"}
    assert {r.code for r in RuleSet.build(select=["EXC"], ignore=["EXC001"]).rules} == {"EXC002"}
    assert {r.code for r in RuleSet.build(select=["bare-except"]).rules} == {"EXC002"}
