"""Importing Microsoft Prompty files into TemplateSpecs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import TemplateError
from harness.templates.loader import load_template, load_templates
from harness.templates.prompty import parse_prompty
from harness.templates.render import render

FIXTURES = Path(__file__).parent / "fixtures" / "templates" / "prompty"


def test_legacy_sample_format() -> None:
    spec = load_template(FIXTURES / "legacy.prompty")
    assert spec.id == "basic-prompt"
    assert [c.name for c in spec.cases] == ["sample"]
    assert spec.cases[0].vars == {"firstName": "Jane", "question": "What is a UUID?"}
    assert spec.params.temperature == 0.3
    assert spec.params.max_tokens == 3000
    prompt = render(spec, spec.cases[0])
    assert [m.role for m in prompt.messages] == ["system", "user"]
    assert "Customer: Jane" in prompt.messages[0].content
    assert prompt.messages[1].content.strip() == "What is a UUID?"
    # Lines point into the .prompty file.
    assert spec.line_of("cases.0.vars.question") == (12, 3)
    assert spec.line_of("system.@value") == (15, 1)
    assert spec.line_of("template.@value") == (19, 1)


def test_inputs_format_with_defaults_and_shorthand() -> None:
    spec = load_template(FIXTURES / "inputs.prompty")
    assert spec.id == "entity-model"
    assert spec.variables["entity"].type == "string"
    assert spec.variables["entity"].default == "User"
    assert spec.variables["fields"].type == "list"
    assert spec.variables["style"].default == "terse"
    assert [c.name for c in spec.cases] == ["default"]
    prompt = render(spec, spec.cases[0])
    assert "model for User" in prompt.messages[1].content
    assert "email, name" in prompt.messages[1].content
    assert spec.expect.rules[0].code == "PYD004"


def test_render_error_line_points_into_the_prompty_file(tmp_path: Path) -> None:
    text = (
        (FIXTURES / "legacy.prompty")
        .read_text()
        .replace("{{question}}", "{{question}}\n{{ nope }}")
    )
    spec = parse_prompty(text, "x.prompty")
    with pytest.raises(TemplateError) as info:
        render(spec, spec.cases[0])
    assert (info.value.path, info.value.line) == ("x.prompty", 20)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("no front matter\n", 1),
        ("---\nname: x\n", 1),
        ("---\nname: [x\n---\nuser:\nhi\n", 3),
        ("---\nname: x\n---\nsystem:\nonly system\n", 4),
        ("---\nname: x\n---\nuser:\nhi\nassistant:\nhello\n", 6),
        ("---\nname: x\nsample: data.json\n---\nuser:\nhi\n", 3),
        ("---\nname: x\nmodel: {parameters: {temperature: 9}}\n---\nuser:\nhi\n", 3),
    ],
)
def test_bad_prompty_names_the_line(text: str, line: int) -> None:
    with pytest.raises(TemplateError) as info:
        parse_prompty(text, "bad.prompty")
    assert info.value.path == "bad.prompty"
    assert info.value.line == line


def test_directories_pick_up_prompty_files() -> None:
    result = load_templates([FIXTURES])
    assert sorted(s.id for s in result.specs) == ["basic-prompt", "entity-model"]
