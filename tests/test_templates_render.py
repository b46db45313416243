"""Rendering: messages, defaults, stable hashes, errors with lines, and the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import RenderError
from harness.templates.loader import parse_template
from harness.templates.render import ENV, Message, render

TEMPLATE = """\
id: demo
variables:
  entity: {}
  style: {default: terse}
  note: {required: false}
system: You are a {{ style }} engineer.
template: |
  Write a model for {{ entity }}.
  {% if note %}Note: {{ note }}{% endif %}
  {BODY}
params: {temperature: 0.1, max_tokens: null, seed: 7}
cases:
  - name: one
    vars: {entity: User}
  - name: two
    vars: {entity: Order, style: verbose}
"""


def _spec(body: str = "", path: str = "t.yaml"):
    return parse_template(TEMPLATE.replace("{BODY}", body), path)


def test_messages_params_and_defaults() -> None:
    spec = _spec()
    one = render(spec, spec.cases[0])
    assert one.messages[0] == Message("system", "You are a terse engineer.")
    assert one.messages[1].role == "user"
    assert one.messages[1].content.startswith("Write a model for User.\n")
    assert one.messages[1].content.endswith("\n")  # keep_trailing_newline
    assert one.params == {"temperature": 0.1, "seed": 7}
    two = render(spec, spec.cases[1])
    assert two.messages[0].content == "You are a verbose engineer."
    assert one.sha256 != two.sha256
    assert render(spec, spec.cases[0]).sha256 == one.sha256
    assert one.messages[0].as_dict() == {
        "role": "system",
        "content": one.messages[0].content,
    }


def test_no_html_escaping() -> None:
    spec = _spec("Use `dict[str, int]` & <b>")
    assert "& <b>" in render(spec, spec.cases[0]).messages[1].content


def test_hash_ignores_source_location() -> None:
    a, b = _spec(path="a.yaml"), _spec(path="b.yaml")
    assert render(a, a.cases[0]).sha256 == render(b, b.cases[0]).sha256


def test_unknown_variable_names_file_and_line() -> None:
    spec = _spec("line two\n  {{ missing }}")
    with pytest.raises(RenderError) as info:
        render(spec, spec.cases[0])
    assert (info.value.path, info.value.line) == ("t.yaml", 11)
    assert "'missing' is undefined" in info.value.message


def test_syntax_error_names_file_and_line() -> None:
    spec = _spec("{% for x in %}")
    with pytest.raises(RenderError) as info:
        render(spec, spec.cases[0])
    assert info.value.line == 10
    assert "syntax error" in info.value.message


def test_unknown_filter_is_a_render_error() -> None:
    spec = _spec("{{ entity | shout }}")
    with pytest.raises(RenderError, match="No filter named 'shout'"):
        render(spec, spec.cases[0])


def test_removed_globals() -> None:
    for name in ("cycler", "joiner", "lipsum", "namespace"):
        assert name not in ENV.globals


ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ lipsum.__globals__['os'].system('touch MARKER') }}",
    "{{ joiner.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ namespace.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ self.__init__.__globals__.__builtins__.__import__('os').system('touch MARKER') }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ entity.__class__.__base__.__subclasses__() }}",
    "{{ entity|attr('__class__')|attr('__mro__') }}",
    "{% set ns = namespace() %}{{ ns.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ range.__init__.__globals__ }}",
    "{{ dict.__init__.__globals__['os'].system('touch MARKER') }}",
    "{{ [].__class__.__base__.__subclasses__() }}",
]


@pytest.mark.parametrize("body", ESCAPES)
def test_sandbox_escapes_never_execute(
    body: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = _spec(body.replace("MARKER", str(tmp_path / "pwned")))
    with pytest.raises(RenderError) as info:
        render(spec, spec.cases[0])
    assert info.value.line == 10
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "MARKER").exists()


def test_compiled_templates_are_cached() -> None:
    from harness.templates.render import _compile

    spec = _spec("cached")
    _compile.cache_clear()
    render(spec, spec.cases[0])
    render(spec, spec.cases[1])
    info = _compile.cache_info()
    assert info.misses == 2 and info.hits == 2
