"""The Runner against a real local HTTP server speaking the OpenAI API."""

from __future__ import annotations

import asyncio
import email.utils
import io
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from harness.config import HarnessConfig, Limits, ModelConfig
from harness.llm.client import Runner
from harness.llm.faults import retry_after as _retry_after
from harness.llm.limiter import AdaptiveLimiter
from harness.llm.store import Store
from harness.llm.types import (
    AUTH,
    BUDGET,
    CONTEXT_LENGTH,
    EMPTY,
    NOT_RECORDED,
    Request,
    Response,
    RunStats,
)
from tests.fake_openai import FakeOpenAI

REPO = Path(__file__).resolve().parent.parent
SECRET = "sk-test-PLANTED-SECRET-1234"


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)


def model(server: FakeOpenAI, name: str = "fake", **kw: object) -> ModelConfig:
    return ModelConfig(alias=name, model=f"openai/{name}", api_base=server.url, **kw)  # type: ignore[arg-type]


def config(*models: ModelConfig, **limits: object) -> HarnessConfig:
    lim = {"max_concurrency": 16, "timeout": 5.0, "max_attempts": 6, **limits}
    return HarnessConfig(models=models, limits=Limits(**lim))  # type: ignore[arg-type]


def requests_for(models: list[ModelConfig], cases: int, samples: int = 1) -> list[Request]:
    return [
        Request.make(m, [{"role": "user", "content": f"case {c}"}], {"temperature": 0.5}, s)
        for c in range(cases)
        for m in models
        for s in range(samples)
    ]


def run(
    cfg: HarnessConfig, store: Store, reqs: list[Request], **kw: object
) -> tuple[RunStats, list[tuple[Request, Response]]]:
    got: list[tuple[Request, Response]] = []
    opts: dict[str, object] = {"progress": False, "backoff_base": 0.01, **kw}
    runner = Runner(cfg, store, **opts)  # type: ignore[arg-type]
    stats = asyncio.run(runner.run(iter(reqs), lambda q, r: got.append((q, r))))
    return stats, got


def test_faults_lose_nothing_and_count_nothing_twice(tmp_path: Path) -> None:
    rates = {"429": 0.1, "500": 0.1, "hang": 0.05}
    with FakeOpenAI(latency=0.005, rates=rates, seed=7, hang_seconds=3) as server:
        m = model(server)
        reqs = requests_for([m], cases=60, samples=2)
        with Store(tmp_path / "s.sqlite") as store:
            stats, got = run(config(m, timeout=0.5), store, reqs)
            stored = store.keys()
    keys = [q.key for q, _ in got]
    assert Counter(keys) == Counter(r.key for r in reqs)  # each exactly once
    ok = {q.key for q, r in got if r.ok}
    assert stored == ok
    assert stats.total == len(reqs) == stats.done + stats.errors
    for _, r in got:
        assert r.ok or r.error_kind in ("rate-limit", "transient", "timeout")
    # each answered key was answered by the server; successes never exceed one per key
    assert all(server.successes[k] == 1 for k in ok)


def test_auth_failure_stops_that_model_only(tmp_path: Path) -> None:
    with FakeOpenAI(auth_fail_models=("bad",)) as server:
        good, bad = model(server, "good"), model(server, "bad", max_concurrency=1)
        reqs = requests_for([good, bad], cases=10)
        with Store(tmp_path / "s.sqlite") as store:
            stats, got = run(config(good, bad), store, reqs)
        bad_keys = {r.key for r in reqs if r.model.alias == "bad"}
        assert sum(server.attempts[k] for k in bad_keys) == 1  # called once, then stopped
    by_model = {alias: [r for q, r in got if q.model.alias == alias] for alias in ("good", "bad")}
    assert all(r.ok for r in by_model["good"]) and len(by_model["good"]) == 10
    assert [r.error_kind for r in by_model["bad"]] == [AUTH] * 10
    assert stats.stopped_models and stats.stopped_models[0][0] == "bad"


def test_store_answers_second_run_without_calls(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        m = model(server)
        reqs = requests_for([m], cases=5, samples=3)
        with Store(tmp_path / "s.sqlite") as store:
            first, _ = run(config(m), store, reqs)
            calls = server.total_requests
            second, got = run(config(m), store, reqs)
            assert server.total_requests == calls == 15
            third, _ = run(config(m), store, reqs, no_cache=True)
            assert server.total_requests == 30
    assert first.done == 15 and second.cached == 15 and second.done == 0
    assert all(r.cached and r.ok for _, r in got)
    assert third.done == 15


def test_offline_makes_no_requests_and_lists_misses(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        m = model(server)
        reqs = requests_for([m], cases=6)
        with Store(tmp_path / "s.sqlite") as store:
            run(config(m), store, reqs[:2])
            server.reset_counts()
            stats, got = run(config(m), store, reqs, offline=True)
        assert server.total_requests == 0
    assert stats.cached == 2 and stats.not_recorded == 4
    assert [r.error_kind for _, r in got[2:]] == [NOT_RECORDED] * 4
    assert {k for _, k in stats.not_recorded_keys} == {r.key for r in reqs[2:]}


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    with FakeOpenAI(retry_after=1) as server:
        m = model(server)
        [req] = requests_for([m], cases=1)
        server.script_for_key  # noqa: B018
        server._per_key[req.key] = __import__("collections").deque(["429-retry-after"])
        with Store(tmp_path / "s.sqlite") as store:
            stats, got = run(config(m), store, [req])
        events = server.events_for(req.key)
    assert [e.outcome for e in events] == ["429-retry-after", "ok"]
    assert events[1].at - events[0].at >= 1.0
    assert got[0][1].ok and stats.done == 1


def test_retry_after_parses_seconds_and_http_dates() -> None:
    class Exc(Exception):
        def __init__(self, value: str) -> None:
            self.litellm_response_headers = {"retry-after": value}

    assert _retry_after(Exc("7")) == 7.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (_retry_after(Exc(later)) or 0) <= 31
    assert _retry_after(Exception()) is None


def test_rate_limit_halves_once_per_burst_and_recovers() -> None:
    lim = AdaptiveLimiter(8)

    async def scenario() -> None:
        epochs = [await lim.acquire() for _ in range(4)]
        for e in epochs:  # a burst of 429s from calls started together
            lim.rate_limited(e, 0)
            lim.release()
        assert lim.limit == 4
        for _ in range(4):
            lim.succeeded()
        assert lim.limit == 5

    asyncio.run(scenario())


def test_permanent_request_errors_and_empty_replies(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        m = model(server)
        reqs = requests_for([m], cases=3)
        script = {
            reqs[0].key: ["context"],
            reqs[1].key: ["empty", "empty"],
            reqs[2].key: ["empty"],
        }
        server._per_key.update({k: __import__("collections").deque(v) for k, v in script.items()})
        with Store(tmp_path / "s.sqlite") as store:
            _, got = run(config(m), store, reqs)
            assert store.keys() == {reqs[2].key}
            assert store.last_error(reqs[1].key) == (
                EMPTY,
                got[[q for q, _ in got].index(reqs[1])][1].error,
            )
        assert server.attempts[reqs[0].key] == 1
    res = {q.key: r for q, r in got}
    assert res[reqs[0].key].error_kind == CONTEXT_LENGTH
    assert res[reqs[1].key].error_kind == EMPTY
    assert res[reqs[2].key].ok


def test_duplicate_keys_in_one_run_call_once(tmp_path: Path) -> None:
    with FakeOpenAI(latency=0.02) as server:
        m = model(server)
        reqs = requests_for([m], cases=3) * 2
        with Store(tmp_path / "s.sqlite") as store:
            stats, got = run(config(m), store, reqs)
        assert server.total_requests == 3
    assert len(got) == 6 and stats.done == 3 and stats.cached == 3


def test_budget_stops_new_calls(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        priced = ModelConfig(
            alias="mini", model="openai/gpt-4o-mini", api_base=server.url, max_concurrency=1
        )
        reqs = requests_for([priced], cases=5)
        out = io.StringIO()
        with Store(tmp_path / "s.sqlite") as store:
            stats, got = run(config(priced), store, reqs, max_cost=1e-9, stream=out)
        assert server.total_requests == 1
    assert stats.done == 1 and stats.skipped_budget == 4 and stats.budget_exhausted
    # the paid answer reaches on_result once committed, possibly after the skips
    assert sorted(r.error_kind or "" for _, r in got) == ["", *[BUDGET] * 4]
    assert "max_cost" in out.getvalue()


def test_no_api_key_reaches_store_logs_or_records(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeOpenAI(auth_fail_models=("bad",)) as server:
        good, bad = model(server, "good"), model(server, "bad")
        reqs = requests_for([good, bad], cases=4)
        with Store(tmp_path / "s.sqlite") as store:
            stats, got = run(config(good, bad), store, reqs, progress=None)
            store.export(tmp_path / "out.jsonl")
        assert any(SECRET in h.get("Authorization", "") for h in server.headers_seen)
    assert stats.errors == 4
    records = repr(got) + repr(stats)
    assert "PLANTED" not in records
    captured = capfd.readouterr()
    assert "PLANTED" not in captured.out + captured.err + caplog.text
    for f in tmp_path.iterdir():
        assert b"PLANTED" not in f.read_bytes(), f.name


def _start(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "OPENAI_API_KEY": SECRET, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.run_requests", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_rows(path: Path, n: int, proc: subprocess.Popen[str]) -> None:
    while proc.poll() is None:
        if path.exists():
            try:
                with sqlite3.connect(path, timeout=5) as conn:
                    if conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0] >= n:
                        return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"runner exited early: {proc.communicate()}")


def test_killed_run_resumes_without_paying_twice(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with FakeOpenAI(latency=0.05) as server:
        args = [
            "--api-base",
            server.url,
            "--store",
            str(path),
            "--cases",
            "100",
            "--samples",
            "2",
            "--concurrency",
            "4",
        ]
        proc = _start(args)
        _wait_for_rows(path, 20, proc)
        proc.kill()
        proc.wait()
        with Store(path) as store:
            held = store.keys()
        assert 20 <= len(held) < 200
        server.reset_counts()
        proc = _start(args)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert all(server.attempts[k] == 0 for k in held)
        assert sum(server.attempts.values()) == 200 - len(held)
    stats = json.loads(out.split("STATS ", 1)[1])
    assert stats["cached"] == len(held) and stats["done"] == 200 - len(held)


def test_first_sigint_stops_cleanly_with_store_intact(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with FakeOpenAI(latency=0.05) as server:
        proc = _start(
            ["--api-base", server.url, "--store", str(path), "--cases", "300", "--concurrency", "4"]
        )
        _wait_for_rows(path, 10, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted" in err and "resume with" in err
    stats = json.loads(out.split("STATS ", 1)[1])
    assert stats["interrupted"] is True and stats["total"] < 300
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    assert rows == stats["done"]


def test_a_paid_answer_is_committed_before_on_result_sees_it(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "s.sqlite"
    seen: list[bool] = []
    with FakeOpenAI(latency=0.005) as server:
        m = model(server)
        reqs = requests_for([m], cases=30)
        with Store(path) as store:
            probe = sqlite3.connect(path)

            def on_result(req: Request, resp: Response) -> None:
                row = probe.execute("SELECT 1 FROM responses WHERE key = ?", (req.key,))
                seen.append(row.fetchone() is not None)

            runner = Runner(config(m), store, progress=False, backoff_base=0.01)
            asyncio.run(runner.run(iter(reqs), on_result))
            probe.close()
    assert len(seen) == 30 and all(seen)
