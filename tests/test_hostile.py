"""No reply, template or file can hang, crash or leak: bounded checking, a supervised check
worker, lossless text, validated imports, bounded YAML."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.check import JobSpec, spec_key
from harness.checker import Checker
from harness.code.engine import RuleSet, check_unit
from harness.code.rule import CodeRule
from harness.code.unit import CodeUnit, Role
from harness.config import ModelConfig, RulesConfig
from harness.errors import StoreError, TemplateError
from harness.llm.store import Store
from harness.llm.types import Request, Response
from harness.templates.loader import parse_template
from harness.templates.spec import Expect

CORPUS = Path(__file__).resolve().parent.parent / "benchmarks" / "corpus"
REPO = Path(__file__).resolve().parent.parent

#: Replies that crashed (segfault), hung or overflowed the checker before it had limits.
HOSTILE = {
    "lists-1000": "x = " + "[" * 1000 + "]" * 1000 + "\n",
    "lists-3000": "x = " + "[" * 3000 + "]" * 3000 + "\n",
    "parens-1500": "x = " + "(" * 1500 + "1" + ")" * 1500 + "\n",
    "calls-3000": "x = " + "f(" * 3000 + ")" * 3000 + "\n",
    "attributes-1000": "x = a" + ".b" * 1000 + "\n",
    "attributes-100k": "x = a" + ".b" * 100_000 + "\n",
    "lambda-5000": "x = " + "lambda: " * 5000 + "1\n",
    "not-5000": "x = " + "not " * 5000 + "1\n",
    "unary-10000": "x = " + "-" * 10_000 + "1\n",
    "sum-20000": "x = " + " + ".join(["a"] * 20_000) + "\n",
    "conditional-2000": "x = " + " if c else ".join(["a"] * 2000) + "\n",
    "subscripts-5000": "x = a" + "[0]" * 5000 + "\n",
    "five-megabytes": "x = 1\n" * 800_000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_unit_is_a_clear_status_never_a_crash(name: str) -> None:
    start = time.monotonic()
    result = check_unit(CodeUnit(source=HOSTILE[name], path="x.py"), RuleSet.build())
    assert result.status in ("check-error", "parse-error")
    reason = result.problem or (result.parse_error.message if result.parse_error else "")
    assert reason
    assert time.monotonic() - start < 10


def test_real_code_is_within_every_limit() -> None:
    rules = RuleSet.build()
    for path in sorted(CORPUS.glob("*.py")):
        result = check_unit(CodeUnit.from_path(path.name, path.read_text()), rules)
        assert result.status == "ok", (path.name, result.problem)


def test_limits_are_configurable() -> None:
    source = "x = " + "[" * 30 + "]" * 30 + "\n"
    assert check_unit(CodeUnit(source=source, path="x.py"), RuleSet.build()).status == "ok"
    strict = RuleSet.build(settings=RulesConfig(max_depth=20))
    result = check_unit(CodeUnit(source=source, path="x.py"), strict)
    assert result.status == "check-error" and "nested too deeply" in (result.problem or "")
    small = RuleSet.build(settings=RulesConfig(max_unit_chars=10))
    result = check_unit(CodeUnit(source=source, path="x.py"), small)
    assert result.status == "check-error" and "too large" in (result.problem or "")


class SlowRule(CodeRule):
    code = "TST801"
    name = "slow-rule-for-tests"
    message = "slow"

    def visit_Module(self, node: object) -> None:
        while True:
            time.sleep(0.01)


class BrokenRule(CodeRule):
    code = "TST802"
    name = "broken-rule-for-tests"
    message = "broken"

    def visit_Module(self, node: object) -> None:
        raise KeyError("a bug in a rule")


def test_a_unit_over_its_time_budget_is_a_check_error() -> None:
    rules = RuleSet((SlowRule,), RulesConfig(unit_timeout=0.3))
    start = time.monotonic()
    result = check_unit(CodeUnit(source="x = 1\n", path="x.py"), rules)
    assert result.status == "check-error" and "longer than 0.3 s" in (result.problem or "")
    assert time.monotonic() - start < 5


def test_a_rule_that_raises_is_a_check_error_not_a_crash() -> None:
    result = check_unit(CodeUnit(source="x = 1\n", path="x.py"), RuleSet((BrokenRule,)))
    assert result.status == "check-error" and "KeyError" in (result.problem or "")


@given(
    st.lists(
        st.sampled_from(["(", "[", "{", "lambda: ", "not ", "-", "a.", "f(", "x if y else "]),
        min_size=50,
        max_size=4000,
    )
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_deep_prefix_never_crashes_the_checker(prefix: list[str]) -> None:
    source = "x = " + "".join(prefix) + "1\n"
    result = check_unit(CodeUnit(source=source, path="x.py"), RuleSet.build())
    assert result.status in ("ok", "parse-error", "check-error")


# --------------------------------------------------------------------------- the worker


def _crash_on_marker(jobs, specs, ruleset, ruff):  # runs in the forked worker
    from harness.check import check_verdicts

    if any("CRASH-THE-WORKER" in reply for reply, _, _ in jobs):
        os.kill(os.getpid(), signal.SIGSEGV)
    return check_verdicts(jobs, specs, ruleset, ruff)


def _fork_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers fork from this process (so they see the test's patches), threads or not."""
    import multiprocessing

    import harness.worker

    monkeypatch.setattr(harness.worker, "_context", lambda *a: multiprocessing.get_context("fork"))


class _Cell:
    class spec:
        id = "t"

    class case:
        name = "c"

    template_hash = "h"


class _Tag:
    cell = _Cell


def _pending(text: str) -> tuple[Request, Response]:
    model = ModelConfig(alias="m", model="openai/x")
    req = Request.make(model, [{"role": "user", "content": text}], {}, 0, tag=_Tag)
    return req, Response(req.key, text, "stop", 1, 1, None, 1.0, None, False, None, None)


def test_a_crashing_reply_costs_its_own_sample_and_the_worker_restarts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import harness.checker as checker_mod

    _fork_workers(monkeypatch)
    monkeypatch.setattr(checker_mod, "check_verdicts", _crash_on_marker)
    got: dict[str, str] = {}
    spec = JobSpec(role=Role.OTHER, expect=Expect(), min_score=80.0, path="t.py")
    checker = Checker(
        lambda req, resp, v: got.__setitem__(resp.text, v.status),
        RulesConfig(),
        None,
        1,
        {spec_key("t", "c"): spec},
    )
    texts = [f"```python\nx_{i} = {i}\n```\n" for i in range(5)]
    texts.insert(2, "```python\n# CRASH-THE-WORKER\nx = 1\n```\n")
    for text in texts:
        checker.submit(*_pending(text))
    checker.drain()
    checker.close()
    assert len(got) == len(texts)
    crashed = got.pop(texts[2])
    assert crashed == "check-error"
    assert set(got.values()) == {"nothing-checked"}  # `x = 1` has nothing to check
    assert checker.crashes == 1


WORKER_OWNER = textwrap.dedent(
    """
    import sys, time
    from harness.worker import Worker
    w = Worker()
    print(w._process.pid, flush=True)
    time.sleep(60)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_the_worker_dies_with_its_parent(sig: signal.Signals) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", WORKER_OWNER],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert owner.stdout is not None
    pid = int(owner.stdout.readline())
    assert _alive(pid)
    owner.send_signal(sig)
    owner.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    """In the process table and not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# --------------------------------------------------------------------------- text and files


def test_a_lone_surrogate_is_stored_losslessly(tmp_path: Path) -> None:
    text = '```python\nx = "\ud800"\n```\n'
    req, resp = _pending(text)
    with Store(tmp_path / "s.sqlite") as store:
        store.put(req.key, resp, req)
        store.flush()
    with Store(tmp_path / "s.sqlite") as store:
        got = store.get(req.key)
        assert got is not None and got.text == text
        store.export(tmp_path / "e.jsonl")
    with Store(tmp_path / "t.sqlite") as other:
        assert other.import_(tmp_path / "e.jsonl") == (1, 0)
        again = other.get(req.key)
        assert again is not None and again.text == text
    assert resp.with_valid_text().text == '```python\nx = "\ufffd"\n```\n'


def test_store_import_lists_every_invalid_record_and_imports_nothing(tmp_path: Path) -> None:
    req, resp = _pending("```python\nx = 1\n```\n")
    with Store(tmp_path / "s.sqlite") as store:
        store.put(req.key, resp, req)
        store.export(tmp_path / "e.jsonl")
    good = json.loads((tmp_path / "e.jsonl").read_text())
    bad_cost = {**good, "response": {**good["response"], "cost": "abc"}}
    bad_tokens = {**good, "response": {**good["response"], "prompt_tokens": -3}}
    bad_dict = {**good, "model": {"a": 1}}
    lines = [json.dumps(x) for x in (good, bad_cost, bad_tokens, bad_dict)] + ["{not json"]
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    with Store(tmp_path / "t.sqlite") as other:
        with pytest.raises(StoreError) as err:
            other.import_(tmp_path / "bad.jsonl")
        assert other.keys() == set()
    text = str(err.value)
    for line in (2, 3, 4, 5):
        assert f"bad.jsonl:{line}: " in text
    assert "response.cost" in text and err.value.line == 2 and err.value.exit_code == 2


def test_a_yaml_alias_bomb_is_refused_at_once() -> None:
    lines = ["id: t", "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    prev = "a"
    for i in range(9):
        lines.append(f"b{i}: &b{i} [" + ", ".join([f"*{prev}"] * 9) + "]")
        prev = f"b{i}"
    lines += ["template: hi", "cases: [{name: a}]"]
    start = time.monotonic()
    with pytest.raises(TemplateError) as err:
        parse_template("\n".join(lines) + "\n", "bomb.yaml")
    assert "expand to more than" in str(err.value) and err.value.line is not None
    assert time.monotonic() - start < 2


def test_yaml_aliases_within_the_bound_still_load() -> None:
    spec = parse_template(
        "id: t\nvariables: {v: &x {default: a}, w: *x}\ntemplate: hi\ncases: [{name: a}]\n",
        "ok.yaml",
    )
    assert spec.id == "t"


# --------------------------------------------------------------------------- end to end

E2E_REPLIES = {
    "nested": "```python\nx = " + "[" * 1000 + "]" * 1000 + "\n```\n",
    "segfault": "```python\nx = " + "(" * 1500 + "1" + ")" * 1500 + "\n```\n",
    "chain": "```python\nx = a" + ".b" * 5000 + "\n```\n",
    "surrogate": '```python\nNAME = "\ud800"\n\n\ndef f() -> str:\n    return NAME\n```\n',
}


def test_hostile_replies_from_a_real_server_end_as_recorded_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main
    from harness.record import iter_results
    from tests.fake_openai import FakeOpenAI
    from tests.test_evaluate import make_project

    order = list(E2E_REPLIES.values())

    def reply(model: str, messages: list) -> str:
        return order.pop(0) if order else E2E_REPLIES["nested"]

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-123456")
    monkeypatch.chdir(tmp_path)
    with FakeOpenAI(reply=reply) as server:
        models = (
            f"models:\n  - {{alias: gpt, model: openai/fake, api_base: '{server.url}'}}\n"
            "limits: {max_attempts: 2, timeout: 20}\n"
        )
        make_project(tmp_path, models)
        args = ["evaluate", "--templates", "service_layer", "--cases", "cancel_order"]
        args += ["--samples", "4", "--run-id", "hostile", "--no-ruff"]
        assert main(args) == 0
        assert server.total_requests == 4
        run = tmp_path / "reports" / "hostile"
        results = list(iter_results(run / "results.jsonl"))
        assert len(results) == 4
        by_status = sorted(r.status for r in results)
        assert by_status == ["check-error", "check-error", "check-error", "scored"]
        for r in results:
            if r.status == "check-error":
                assert r.score == 0 and r.passed is False and r.detail
            else:  # the surrogate reply: stored as sent, recorded as valid text
                assert "\ufffd" in (r.reply or "")
        summary = json.loads((run / "summary.json").read_text())
        assert summary["status_counts"]["check-error"] == 3
        # --resume has nothing left to do: no call, no new line
        lines = (run / "results.jsonl").read_text()
        assert main(["evaluate", "--resume", "hostile"]) == 0
        assert server.total_requests == 4
        assert (run / "results.jsonl").read_text() == lines


SEGFAULT_FILE = "x = " + "(" * 1500 + "1" + ")" * 1500 + "\n"


def test_check_code_reports_the_good_files_next_to_a_hostile_one(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from harness.cli import cli

    (tmp_path / "a_good.py").write_text("def f() -> int:\n    return 1\n")
    (tmp_path / "b_segfault.py").write_text(SEGFAULT_FILE)
    (tmp_path / "c_bad.py").write_text("try:\n    f()\nexcept:\n    raise\n")
    result = CliRunner().invoke(cli, ["check-code", str(tmp_path), "--no-ruff"])
    assert result.exit_code == 1, result.output
    assert "b_segfault.py:1:1: check-error: nested too deeply" in result.output
    assert "c_bad.py:3:1: EXC002" in result.output


def _crash_on_file(units, ruleset):  # runs in the forked worker
    if any("CRASH-THE-WORKER" in u.source for u in units):
        os.kill(os.getpid(), signal.SIGSEGV)
    return [check_unit(u, ruleset) for u in units]


def _crash_on_project(projects, ruleset):  # runs in the forked worker
    return [_crash_on_file(list(p.units), ruleset) for p in projects]


def test_check_code_survives_a_file_that_crashes_the_checker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.commands import check_code
    from harness.commands.check_code import Selection, check_files

    _fork_workers(monkeypatch)
    monkeypatch.setattr(check_code, "_check_units", _crash_on_file)
    monkeypatch.setattr(check_code, "_check_project", _crash_on_project)
    files = []
    for i in range(5):
        path = tmp_path / f"f{i}.py"
        body = "# CRASH-THE-WORKER\n" if i == 2 else ""
        path.write_text(body + "try:\n    f()\nexcept:\n    raise\n")
        files.append(path)
    results = check_files(files, Selection(None, [], [], []))
    assert [r.problem.kind if r.problem else "ok" for r in results] == [
        "ok",
        "ok",
        "check-error",
        "ok",
        "ok",
    ]
    assert "SIGSEGV" in results[2].problem.message  # type: ignore[union-attr]
    assert all(any(f.code == "EXC002" for f in r.findings) for i, r in enumerate(results) if i != 2)


# --------------------------------------------------------------------------- templates

BOUNDED_TEMPLATES = {
    "{{ 10**5000 }}": "too large a number",
    "{{ 9**(9**9) }}": "too large a number",
    "{{ 'a' * 10**9 }}": "repetition would exceed",
    "{{ [0] * 10**8 }}": "repetition would exceed",
    "{{ 'a'|center(1000000000) }}": "too large",
    "{{ '%999999999d' % 1 }}": "format width",
    "{{ '{:>999999999}'.format(1) }}": "width of a million",
    "{% for i in range(100000) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}": "exceeds",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}": "longer",
    "{% macro m(n) %}{% if n %}{{ m(n-1) }}{{ m(n-1) }}{% endif %}{% endmacro %}{{ m(40) }}": (
        "longer"
    ),
}


@pytest.mark.parametrize("body", sorted(BOUNDED_TEMPLATES))
def test_templates_are_bounded_in_time_and_size(body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.errors import RenderError
    from harness.templates import render as render_mod

    monkeypatch.setattr(render_mod, "RENDER_SECONDS", 0.5)
    text = f"id: t\ntemplate: |\n  Intro line\n  {body}\ncases: [{{name: a}}]\n"
    spec = parse_template(text, "t.yaml")
    start = time.monotonic()
    with pytest.raises(RenderError) as err:
        render_mod.render(spec, spec.cases[0])
    assert BOUNDED_TEMPLATES[body] in str(err.value)
    assert err.value.path == "t.yaml" and err.value.line in (2, 3, 4)
    assert time.monotonic() - start < 5


def test_ordinary_arithmetic_and_repetition_still_render() -> None:
    from harness.templates.render import render

    body = (
        "{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ 'id %05d' % 7 }} {{ '{:>4}'.format(1) }}"
    )
    spec = parse_template(f'id: t\ntemplate: "{body}"\ncases: [{{name: a}}]\n', "t.yaml")
    assert render(spec, spec.cases[0]).messages[0].content == "1024 ababab [1, 2] id 00007    1"


def test_lint_reports_an_unbounded_template_as_a_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    (tmp_path / "prompt_templates").mkdir()
    (tmp_path / "prompt_templates" / "t.yaml").write_text(
        "id: t\ntemplate: |\n  Hello\n  {{ 10**5000 }}\ncases: [{name: a}]\n"
    )
    (tmp_path / "harness.yaml").write_text("templates_dir: prompt_templates\n")
    monkeypatch.chdir(tmp_path)
    assert main(["lint"]) == 1
    out = capsys.readouterr().out
    assert "prompt_templates/t.yaml:4:1: TPL013" in out and "too large a number" in out


# --------------------------------------------------------------------------- linear time

LONG_LINES = {
    "fence info of spaces": "```python" + " \t" * 32_000 + "a\n```\n",
    "dotted import": "from " + "a." * 32_000 + " import",
    "header comment": "```python\n# file: " + "a/" * 32_000 + "\nx = 1\n```\n",
    "label line": "a/" * 32_000 + ".py\n```python\nx = 1\n```\n",
    "path-like prose": "see " + "a-" * 32_000 + ".p\n",
}


@pytest.mark.parametrize("name", sorted(LONG_LINES))
def test_extraction_is_linear_on_long_lines(name: str) -> None:
    from harness.code.extract import extract

    start = time.monotonic()
    extract(LONG_LINES[name])
    assert time.monotonic() - start < 1.0


def test_a_unit_with_an_absurdly_long_line_is_a_check_error() -> None:
    source = "x = a" + "." * 30_000 + "\n"
    result = check_unit(CodeUnit(source=source, path="x.py"), RuleSet.build())
    assert result.status == "check-error" and "line too long" in (result.problem or "")


def test_the_spec_validator_is_linear_in_its_errors() -> None:
    text = "id: t\ntemplate: hi\ncases: [{name: a}]\n"
    text += "".join(f"unknown_{i}: 1\n" for i in range(50_000))
    start = time.monotonic()
    with pytest.raises(TemplateError) as err:
        parse_template(text, "t.yaml")
    assert err.value.line == 4 and "unknown_0" in str(err.value)
    assert time.monotonic() - start < 10


def test_deeply_nested_yaml_is_an_error_not_a_crash_of_libyaml() -> None:
    text = "id: t\ntemplate: hi\ncases:\n  - " + "[" * 300_000 + "\n"
    with pytest.raises(TemplateError) as err:
        parse_template(text, "deep.yaml")
    assert "nested too deeply" in str(err.value)


def test_template_text_with_a_lone_surrogate_is_an_error_at_its_line() -> None:
    with pytest.raises(TemplateError) as err:
        parse_template("id: t\ntemplate: |\n  hi \ud800\ncases: [{name: a}]\n", "s.yaml")
    assert (err.value.line, err.value.col) == (3, 6) and "surrogate" in str(err.value)


@given(st.text(max_size=400))
@settings(max_examples=200, deadline=None)
def test_any_text_loads_as_a_template_or_a_template_error(text: str) -> None:
    with contextlib.suppress(TemplateError):
        parse_template(text, "any.yaml")


@given(st.text(max_size=400))
@settings(max_examples=200, deadline=None)
def test_any_reply_extracts_without_raising(text: str) -> None:
    from harness.code.extract import extract

    ex = extract(text, finish_reason="length")
    assert ex.outcome in ("code", "no-code", "truncated")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=20,
    )
)
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_store_record_imports_or_is_refused_with_its_line(
    tmp_path_factory: pytest.TempPathFactory, value: object
) -> None:
    tmp = tmp_path_factory.mktemp("imp")
    (tmp / "in.jsonl").write_text(json.dumps(value) + "\n")
    with Store(tmp / "s.sqlite") as store:
        try:
            store.import_(tmp / "in.jsonl")
        except StoreError as exc:
            assert exc.line == 1


def test_store_import_refuses_a_huge_integer_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"model": "m", "sample": ' + "9" * 5000 + "}\n")
    with Store(tmp_path / "s.sqlite") as store, pytest.raises(StoreError) as err:
        store.import_(tmp_path / "in.jsonl")
    assert err.value.line == 1 and "in.jsonl:1: not a JSON record" in str(err.value)
