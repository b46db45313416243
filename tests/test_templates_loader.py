"""Loading templates: positions of every key, errors with file:line:col, one bad file never
stops the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import TemplateError
from harness.templates.loader import load_template, load_templates, parse_template

GOOD = """\
id: demo
variables:
  entity: {description: Resource}
template: |
  Write a model for {{ entity }}.
cases:
  - name: one
    vars: {entity: User}
  - name: two
    vars:
      entity: Order
"""


def _error(text: str) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        parse_template(text, "t.yaml")
    return info.value


def test_good_template_records_key_positions() -> None:
    spec = parse_template(GOOD, "t.yaml")
    assert spec.path == "t.yaml"
    assert spec.line_of("template") == (4, 1)
    assert spec.line_of("cases.1.vars.entity") == (11, 7)
    assert spec.line_of("cases.0.vars.entity") == (8, 12)
    assert spec.line_of("variables.entity.description") == (3, 12)
    assert spec.line_of("cases.1.vars.nothing") == (10, 5)  # falls back to the parent key
    assert spec.line_of("template.@value") == (5, 3)  # first line of the block scalar text


def test_yaml_syntax_error_names_file_line_col() -> None:
    err = _error(GOOD.replace("  - name: two\n", "  - name: two\n   bad: [\n"))
    assert err.path == "t.yaml"
    assert err.line is not None and err.line >= 10
    assert err.col is not None
    assert "invalid YAML" in err.message
    assert str(err).startswith(f"t.yaml:{err.line}:{err.col}: ")


def test_schema_error_on_nested_key_points_at_that_key() -> None:
    err = _error(GOOD.replace("      entity: Order", "      entity: Order\n  - name: 3 bad name"))
    assert (err.line, err.col) == (12, 5)
    assert "cases.2.name" in err.message
    assert "validation error" not in str(err)


def test_wrong_type_points_at_the_value_key() -> None:
    err = _error(GOOD.replace("    vars:\n      entity: Order\n", "    vars: [Order]\n"))
    assert (err.path, err.line, err.col) == ("t.yaml", 10, 5)
    assert "`cases.1.vars`" in err.message and "dictionary" in err.message


def test_extra_key_points_at_it() -> None:
    err = _error(GOOD.replace("variables:", "temperature: 3\nvariables:"))
    assert (err.line, err.col) == (2, 1)
    assert "temperature" in err.message


def test_missing_required_key_points_at_the_parent() -> None:
    err = _error("id: demo\ncases: [{name: a}]\n")
    assert err.line == 1
    assert "`template`" in err.message


def test_duplicate_key_is_an_error_at_its_second_line() -> None:
    err = _error(
        GOOD.replace("    vars: {entity: User}\n", "    vars: {entity: User}\n    name: again\n")
    )
    assert (err.line, err.col) == (9, 5)
    assert "duplicate key 'name'" in err.message and "line 7" in err.message


def test_not_a_mapping() -> None:
    assert _error("- a\n- b\n").line == 1
    assert "empty" in _error("").message


def test_every_error_is_reported_with_its_own_line() -> None:
    err = _error("id: BAD ID\ntemplate: 1\ncases: []\n")
    assert [e.line for e in err.all()] == [1, 2, 3]
    assert all(e.path == "t.yaml" and e.col for e in err.all())
    assert str(err).count("t.yaml:") == 3


def test_case_values_must_have_their_declared_type() -> None:
    text = GOOD.replace("entity: Order", "entity: 42")
    err = _error(text)
    assert "expected string" in err.message and "got int 42" in err.message
    assert (
        err.line
        == text.splitlines().index(next(ln for ln in text.splitlines() if "entity: 42" in ln)) + 1
    )


def test_dates_stay_strings() -> None:
    spec = parse_template(GOOD.replace("entity: Order", "entity: 2024-01-01"), "t.yaml")
    assert spec.cases[1].vars["entity"] == "2024-01-01"


def test_load_templates_keeps_going_past_bad_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yml").write_text("id: [\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.yaml").write_text(GOOD.replace("id: demo", "id: other"))
    (tmp_path / "skip.yaml").write_text(GOOD)
    (tmp_path / "notes.txt").write_text("not a template")
    (tmp_path / "bad.yaml").write_bytes(b"id: \xff\xfe\n")
    result = load_templates([tmp_path], exclude=("skip.yaml",))
    assert sorted(s.id for s in result.specs) == ["demo", "other"]
    assert sorted(Path(e.path or "").name for e in result.errors) == ["b.yml", "bad.yaml"]
    assert all(e.line for e in result.errors)


def test_excluded_file_named_explicitly_is_still_loaded(tmp_path: Path) -> None:
    (tmp_path / "skip.yaml").write_text(GOOD)
    result = load_templates([tmp_path / "skip.yaml"], exclude=("skip.yaml",))
    assert [s.id for s in result.specs] == ["demo"]


def test_missing_file_is_a_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError) as info:
        load_template(tmp_path / "nope.yaml")
    assert info.value.path == str(tmp_path / "nope.yaml")


def test_shipped_templates_load_with_three_cases() -> None:
    root = Path(__file__).resolve().parent.parent / "prompt_templates"
    result = load_templates([root])
    assert result.errors == ()
    ids = {s.id for s in result.specs}
    assert {"pydantic_schemas", "sqlalchemy_model", "service_layer", "fastapi_router"} <= ids
    assert "conversational" in ids
    for spec in result.specs:
        assert len(spec.cases) >= 3
        assert spec.expect.role is not None


def test_the_only_case_being_invalid_points_at_its_bad_key_not_the_list() -> None:
    text = "id: z\ntemplate: hi\ncases:\n  - name: a\n    vars: 3\n"
    with pytest.raises(TemplateError) as err:
        parse_template(text, "s.yaml")
    assert (err.value.line, err.value.col) == (5, 5)
    assert "cases.0.vars" in err.value.message and "at least 1 item" not in str(err.value)
