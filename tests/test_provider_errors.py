"""Provider errors a person can act on: one line naming the model, its host and the cause; no
retries for errors that cannot succeed; remembered errors reused unless asked again."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.llm.store import Store
from harness.llm.types import AUTH, NOT_FOUND, UNREACHABLE
from tests.fake_openai import FakeOpenAI
from tests.test_llm_runner import SECRET, config, model, requests_for, run


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_refused_connection_names_the_host_and_is_not_retried(tmp_path: Path) -> None:
    from harness.config import ModelConfig

    port = _free_port()  # nothing listens there
    m = ModelConfig(alias="local", model="openai/x", api_base=f"http://127.0.0.1:{port}/v1")
    reqs = requests_for([m], cases=3)
    with Store(tmp_path / "s.sqlite") as store:
        stats, got = run(config(m, max_attempts=4), store, reqs)
    (_, first), *_ = got
    assert first.error_kind == UNREACHABLE
    line = first.error or ""
    assert line.startswith(f"local (127.0.0.1:{port}): connection refused")
    assert "\n" not in line and "gave up after" not in line  # one line, no retries
    assert stats.stopped_models and stats.stopped_models[0][0] == "local"
    assert all(r.error_kind == UNREACHABLE for _, r in got)


@pytest.mark.parametrize(
    ("fault", "kind", "cause"),
    [
        ("401", AUTH, "401 invalid key"),
        ("403", AUTH, "403 permission denied"),
        ("404", NOT_FOUND, "404 model not found"),
    ],
)
def test_permanent_errors_say_what_is_wrong_once(
    tmp_path: Path, fault: str, kind: str, cause: str
) -> None:
    with FakeOpenAI(script=[fault] * 50) as server:
        m = model(server, "gpt", max_concurrency=1)
        reqs = requests_for([m], cases=2)
        with Store(tmp_path / "s.sqlite") as store:
            _, got = run(config(m, max_attempts=4), store, reqs)
        assert server.total_requests == 1  # not retried, and the model is stopped
    host = server.url.split("//", 1)[1].split("/", 1)[0]
    err = got[0][1].error or ""
    assert got[0][1].error_kind == kind
    assert err.startswith(f"gpt ({host}): {cause}")
    assert SECRET not in err


def test_a_timeout_says_how_long(tmp_path: Path) -> None:
    with FakeOpenAI(script=["hang"] * 10, hang_seconds=3) as server:
        m = model(server, "slow")
        with Store(tmp_path / "s.sqlite") as store:
            _, got = run(config(m, timeout=0.3, max_attempts=1), store, requests_for([m], 1))
    err = got[0][1].error or ""
    assert "timed out after 0.3 s" in err and err.startswith("slow (")


def test_remembered_errors_are_reused_unless_retry_errors(tmp_path: Path) -> None:
    with FakeOpenAI(script=["500", "500"]) as server:
        m = model(server, "gpt")
        reqs = requests_for([m], cases=1)
        with Store(tmp_path / "s.sqlite") as store:
            _, got = run(config(m, max_attempts=2), store, reqs)
            assert got[0][1].error_kind == "transient"
            calls = server.total_requests
            _, again = run(config(m, max_attempts=2), store, reqs)
            assert server.total_requests == calls  # the error is remembered, not repeated
            assert "remembered from an earlier run" in (again[0][1].error or "")
            _, retried = run(config(m, max_attempts=2), store, reqs, retry_errors=True)
            assert server.total_requests == calls + 1 and retried[0][1].ok
