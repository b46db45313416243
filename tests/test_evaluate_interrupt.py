"""`harness evaluate` through the real CLI in a subprocess: Ctrl-C, kill, resume and budget.

The model is `openai/<name>` pointed at a local fake OpenAI server (in this process), which
counts requests per store key (the X-Harness-Key header the runner sends with api_base).
"""

from __future__ import annotations

import math
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from harness.record import SampleResult
from tests.fake_openai import FakeOpenAI
from tests.test_hostile import _alive

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = ("pydantic_schemas", "sqlalchemy_model")
SAMPLES = 10
WAIT = 60.0  # seconds: upper bound on any wait for an observable condition
CLI = [sys.executable, "-m", "harness.cli"]


def project(root: Path, url: str, model: str = "openai/fake-gpt", concurrency: int = 8) -> Path:
    (root / "prompt_templates").mkdir(parents=True)
    for name in TEMPLATES:
        shutil.copy(REPO / "prompt_templates" / f"{name}.yaml", root / "prompt_templates")
    (root / "harness.yaml").write_text(
        "templates_dir: prompt_templates\nreports_dir: reports\n"
        "store: .harness/store.sqlite\nsamples: 1\n"
        "models:\n"
        f"  - {{alias: gpt, model: {model}, api_base: '{url}',"
        f" max_concurrency: {concurrency}}}\n"
        f"limits: {{max_concurrency: {concurrency}, timeout: 30, max_attempts: 1}}\n"
    )
    return root / "harness.yaml"


class Run:
    """One `harness evaluate` subprocess; stderr goes to a file so it can be read live."""

    def __init__(self, root: Path, args: Sequence[str], name: str) -> None:
        self.err_path = root / f"{name}.stderr"
        env = {
            **os.environ,
            "OPENAI_API_KEY": "fake",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "PYTHONPATH": str(REPO),
        }
        with self.err_path.open("w") as err:
            self.proc = subprocess.Popen(
                list(args), cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True
            )

    @property
    def stderr(self) -> str:
        return self.err_path.read_text()

    def wait(self) -> int:
        return self.proc.wait(timeout=WAIT)

    def until(self, what: str, cond: Callable[[], bool]) -> None:
        """Wait until `cond()` holds while the process still runs."""
        deadline = time.monotonic() + WAIT
        while not cond():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"exited ({self.proc.returncode}) before {what}: {self.stderr}"
                )
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"timed out waiting for {what}: {self.stderr}")
            time.sleep(0.02)


def evaluate(root: Path, cfg: Path, *extra: str, run_id: str = "r1", name: str = "run") -> Run:
    args = [*CLI, "evaluate", "--config", str(cfg), "--no-progress", "--run-id", run_id]
    return Run(root, [*args, "--samples", str(SAMPLES), *extra], name)


def results_of(root: Path, run_id: str = "r1") -> Path:
    return root / "reports" / run_id / "results.jsonl"


def line_count(path: Path) -> int:
    if not path.exists():
        return 0
    return path.read_bytes().count(b"\n")


def read_results(path: Path) -> list[SampleResult]:
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "torn last line"
    return [SampleResult.model_validate_json(line) for line in text.splitlines()]


def planned_idents() -> set[tuple[str, str, str, int]]:
    from harness.templates.loader import load_templates

    specs = load_templates([REPO / "prompt_templates" / f"{t}.yaml" for t in TEMPLATES]).specs
    return {(s.id, c.name, "gpt", i) for s in specs for c in s.cases for i in range(SAMPLES)}


def store_keys(root: Path) -> set[str]:
    with sqlite3.connect(root / ".harness" / "store.sqlite") as conn:
        return {k for (k,) in conn.execute("SELECT key FROM responses")}


def resume_args(stderr: str) -> list[str]:
    found = re.search(r"^\s+(harness evaluate --resume .+)$", stderr, re.MULTILINE)
    assert found, stderr
    argv = shlex.split(found.group(1))
    assert argv[0] == "harness"
    return [*CLI, *argv[1:]]


def asked_again_after_success(server: FakeOpenAI) -> list[str]:
    """Keys the server was asked for again after it had answered them."""
    seen_ok: set[str] = set()
    again: list[str] = []
    with server._lock:
        events = list(server.events)
    for e in sorted(events, key=lambda e: e.at):
        if e.key in seen_ok:
            again.append(e.key)
        if e.outcome == "ok":
            seen_ok.add(e.key)
    return again


@pytest.fixture
def server():
    with FakeOpenAI(latency=0.3) as srv:
        yield srv


def test_first_sigint_stops_and_printed_resume_command_completes(
    tmp_path: Path, server: FakeOpenAI
) -> None:
    cfg = project(tmp_path, server.url)
    results = results_of(tmp_path)
    planned = planned_idents()
    assert len(planned) >= 50
    run = evaluate(tmp_path, cfg)
    run.until("8 results", lambda: line_count(results) >= 8)
    run.proc.send_signal(signal.SIGINT)
    assert run.wait() == 130
    err = run.stderr
    assert "interrupted" in err
    first = read_results(results)  # complete lines only
    assert 8 <= len(first) < len(planned)
    asked = server.total_requests
    assert asked < len(planned)  # no new request started after the interrupt

    again = Run(tmp_path, resume_args(err), "resume")
    assert again.wait() == 0, again.stderr
    final = read_results(results)
    idents = [(r.template, r.case, r.model, r.sample) for r in final]
    assert len(idents) == len(set(idents)) == len(planned)
    assert set(idents) == planned
    assert {r.status for r in final} == {"scored"}
    assert asked_again_after_success(server) == []
    assert server.total_requests == len(planned)


def test_second_sigint_exits_at_once_with_store_intact(tmp_path: Path) -> None:
    # Eight quick answers, then calls that hang: the first Ctrl-C would wait out its grace.
    with FakeOpenAI(latency=0.3, script=[None] * 8 + ["hang"] * 200, hang_seconds=3) as srv:
        cfg = project(tmp_path, srv.url)
        run = evaluate(tmp_path, cfg)
        run.until("4 results", lambda: line_count(results_of(tmp_path)) >= 4)
        run.until("hanging calls", lambda: srv.total_requests > 8)
        run.proc.send_signal(signal.SIGINT)
        run.until("the first interrupt is heard", lambda: "finishing calls" in run.stderr)
        run.proc.send_signal(signal.SIGINT)
        assert run.wait() == 130
        assert "interrupted again" in run.stderr
        with sqlite3.connect(tmp_path / ".harness" / "store.sqlite") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0] <= 8


def test_sigkill_then_resume_asks_nothing_already_stored(
    tmp_path: Path, server: FakeOpenAI
) -> None:
    cfg = project(tmp_path, server.url)
    results = results_of(tmp_path)
    planned = planned_idents()
    run = evaluate(tmp_path, cfg)
    run.until("8 results", lambda: line_count(results) >= 8)
    run.proc.kill()
    run.wait()
    held = store_keys(tmp_path)
    assert 8 <= len(held) < len(planned)
    server.reset_counts()

    again = Run(tmp_path, [*CLI, "evaluate", "--config", str(cfg), "--resume", "r1"], "resume")
    assert again.wait() == 0, again.stderr
    assert all(server.attempts[k] == 0 for k in held)
    assert server.total_requests == len(planned) - len(held)
    final = read_results(results)
    idents = [(r.template, r.case, r.model, r.sample) for r in final]
    assert len(idents) == len(set(idents)) and set(idents) == planned


def test_max_cost_stops_new_calls_and_records_the_rest_as_budget_errors(
    tmp_path: Path, server: FakeOpenAI
) -> None:
    from harness.llm import load_litellm
    from harness.templates.loader import load_template
    from harness.templates.render import render

    litellm = load_litellm()
    spec = load_template(REPO / "prompt_templates" / "pydantic_schemas.yaml")
    case = next(c for c in spec.cases if c.name == "user")
    messages = [m.as_dict() for m in render(spec, case).messages]
    probe = litellm.completion(
        model="openai/gpt-4o-mini", messages=messages, api_base=server.url, api_key="fake"
    )
    per_call = litellm.completion_cost(completion_response=probe)
    assert per_call > 0  # priced offline from litellm's local cost map
    server.reset_counts()

    concurrency = 2
    cfg = project(tmp_path, server.url, model="openai/gpt-4o-mini", concurrency=concurrency)
    budget = 3.5 * per_call
    run = evaluate(
        tmp_path,
        cfg,
        "--templates",
        "pydantic_schemas",
        "--cases",
        "user",
        "--max-cost",
        repr(budget),
    )
    assert run.wait() == 0, run.stderr
    err = run.stderr
    assert "no new calls will start" in err
    assert f"{SAMPLES - server.total_requests} sample(s) not called: max_cost reached" in err
    assert "failed at the provider" not in err
    need = math.ceil(budget / per_call)  # calls until the budget is spent
    assert need <= server.total_requests <= need + concurrency - 1
    final = read_results(results_of(tmp_path))
    assert len(final) == SAMPLES
    scored = [r for r in final if r.status == "scored"]
    skipped = [r for r in final if r.status != "scored"]
    assert len(scored) == server.total_requests
    assert all(r.usage.cost and math.isclose(r.usage.cost, per_call) for r in scored)
    assert len(skipped) == SAMPLES - len(scored)
    assert {(r.status, r.detail, r.score) for r in skipped} == {("provider-error", "budget", None)}


def _descendants(pid: int) -> set[int]:
    """Every live process below `pid`, from the process table."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killing_evaluate_leaves_no_process_behind(tmp_path: Path, sig: signal.Signals) -> None:
    with FakeOpenAI(latency=0.05) as server:
        cfg = project(tmp_path, server.url, concurrency=4)
        run = evaluate(tmp_path, cfg, name=f"kill-{sig.name}")
        run.until("the first results", lambda: line_count(results_of(tmp_path)) >= 3)
        children = _descendants(run.proc.pid)
        assert children, "the check worker runs in its own process"
        run.proc.send_signal(sig)
        run.proc.wait(timeout=WAIT)
        deadline = time.monotonic() + 15
        while any(_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in children if _alive(p)]


def test_kill_9_then_resume_pays_again_only_for_answers_not_yet_committed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAI(latency=0.02) as server:
        cfg = project(tmp_path, server.url, concurrency=8)
        run = evaluate(tmp_path, cfg, name="kill9")
        run.until("some results", lambda: line_count(results_of(tmp_path)) >= 20)
        run.proc.send_signal(signal.SIGKILL)
        run.proc.wait(timeout=WAIT)
        processed = {r.key for r in read_results_tolerant(results_of(tmp_path))}
        assert processed
        resumed = evaluate(tmp_path, cfg, "--resume", "r1", name="resume9")
        assert resumed.wait() == 0, resumed.stderr
        twice = {k for k, n in server.attempts.items() if n > 1}
    # An answer that reached results.jsonl was committed first: never paid again.
    assert not twice & processed
    final = read_results(results_of(tmp_path))
    assert len({(r.template, r.case, r.model, r.sample) for r in final}) == len(final)
    with capsys.disabled():
        print(f"\nkill -9 then --resume: {len(twice)} of {len(server.attempts)} keys paid twice")


def read_results_tolerant(path: Path) -> list[SampleResult]:
    """The results of a killed run: a torn last line is skipped."""
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(SampleResult.model_validate_json(line))
        except ValueError:
            continue
    return out


def test_two_processes_sharing_a_store_make_one_call_per_key(tmp_path: Path) -> None:
    with FakeOpenAI(latency=0.2) as server:
        cfg = project(tmp_path, server.url, concurrency=4)
        first = evaluate(tmp_path, cfg, run_id="a", name="a")
        second = evaluate(tmp_path, cfg, run_id="b", name="b")
        assert first.wait() == 0, first.stderr
        assert second.wait() == 0, second.stderr
        attempts = dict(server.attempts)
    assert attempts and set(attempts.values()) == {1}, {k: n for k, n in attempts.items() if n > 1}
    a = read_results(results_of(tmp_path, "a"))
    b = read_results(results_of(tmp_path, "b"))
    assert len(a) == len(b) == len(attempts)
    assert {r.key for r in a} == {r.key for r in b} == set(attempts)
    assert {r.status for r in a + b} == {"scored"}
    # each answer was paid once, and the other run read it from the store
    assert sum(not r.usage.cached for r in a + b) == len(attempts)


def test_a_process_waiting_on_a_key_reuses_the_error_the_other_one_got(tmp_path: Path) -> None:
    # The first call of all fails (max_attempts is 1): the process that made it records the
    # error; the one waiting on that key's claim reuses it instead of calling again.
    with FakeOpenAI(latency=0.2, script=["500"]) as server:
        cfg = project(tmp_path, server.url, concurrency=4)
        first = evaluate(tmp_path, cfg, run_id="a", name="a")
        second = evaluate(tmp_path, cfg, run_id="b", name="b")
        codes = (first.wait(), second.wait())
        attempts = dict(server.attempts)
    assert set(attempts.values()) == {1}, {k: n for k, n in attempts.items() if n > 1}
    a = read_results(results_of(tmp_path, "a"))
    b = read_results(results_of(tmp_path, "b"))
    failed = [r for r in a + b if r.status == "provider-error"]
    assert len(failed) == 2 and failed[0].key == failed[1].key
    assert codes == (0, 0)  # the run completed; its one error is listed, not scored
    assert any("remembered from an earlier run" in (r.error or "") for r in failed)
