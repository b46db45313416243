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


CONVERSATION = """---
name: Chat with history
inputs:
  history:
    type: array
    default:
      - {role: user, content: "Write a User model."}
      - {role: assistant, content: "class User: ..."}
  question: {type: string, default: "Now make the id a UUID."}
---
system:
You write FastAPI code.

{% for item in history %}
{{ item.role }}:
{{ item.content }}
{% endfor %}

user:
{{ question }}
"""


def test_roles_written_by_the_jinja_body_are_found_after_rendering() -> None:
    spec = parse_prompty(CONVERSATION, "chat.prompty")
    assert spec.split_roles
    rendered = render(spec, spec.cases[0])
    assert [(m.role, m.content.strip()) for m in rendered.messages] == [
        ("system", "You write FastAPI code."),
        ("user", "Write a User model."),
        ("assistant", "class User: ..."),
        ("user", "Now make the id a UUID."),
    ]
    assert spec.line_of("template")[0] == 11


def test_assistant_turns_and_static_bodies() -> None:
    spec = parse_prompty("---\nname: x\n---\nuser:\nhi\nassistant:\nhello\nuser:\nmore\n")
    roles = [m.role for m in render(spec, spec.cases[0]).messages]
    assert roles == ["user", "assistant", "user"]
    static = parse_prompty("---\nname: x\n---\nsystem:\nbe brief\nuser:\nhi\n")
    assert not static.split_roles and static.system == "be brief\n"


def test_a_body_that_renders_no_user_turn_is_an_error() -> None:
    spec = parse_prompty(
        "---\nname: x\n---\n{% for r in ['system'] %}\n{{ r }}:\nonly\n{% endfor %}\n", "x.prompty"
    )
    with pytest.raises(TemplateError) as info:
        render(spec, spec.cases[0])
    assert "no `user:` turn" in str(info.value) and info.value.path == "x.prompty"
