"""litellm's real Anthropic and Ollama adapters, through the same runner, store and retries,
against local servers on 127.0.0.1 that speak each API."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.config import ModelConfig
from harness.llm.store import Store
from harness.llm.types import TIMEOUT
from tests.fake_providers import FakeProvider
from tests.test_llm_runner import config, requests_for, run

ADAPTERS = [
    ("anthropic", "anthropic/claude-3-5-sonnet-20241022", "/v1/messages"),
    ("ollama", "ollama/qwen2.5-coder", "/api/generate"),
    ("ollama", "ollama_chat/qwen2.5-coder", "/api/chat"),
]


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key-123456")


def _model(srv: FakeProvider, name: str) -> ModelConfig:
    return ModelConfig(alias="m", model=name, api_base=srv.url, max_concurrency=1)


@pytest.mark.parametrize(("dialect", "name", "path"), ADAPTERS)
def test_a_normal_reply_with_token_counts_is_stored(
    tmp_path: Path, dialect: str, name: str, path: str
) -> None:
    with FakeProvider(dialect) as srv:
        m = _model(srv, name)
        reqs = requests_for([m], cases=2)
        with Store(tmp_path / "s.sqlite") as store:
            stats, got = run(config(m), store, reqs)
            _, again = run(config(m), store, reqs)  # from the store: no new request
        assert {p for p, _ in srv.requests} == {path} and len(srv.requests) == 2
    assert stats.errors == 0
    for _, resp in got:
        assert resp.ok and "async def answer" in (resp.text or "")
        assert (resp.prompt_tokens, resp.completion_tokens) == (11, 7)
        assert resp.finish_reason == "stop"
    assert all(r.cached for _, r in again)


@pytest.mark.parametrize(("dialect", "name", "path"), ADAPTERS)
def test_429_with_retry_after_then_an_answer(
    tmp_path: Path, dialect: str, name: str, path: str
) -> None:
    with FakeProvider(dialect, script=["429"]) as srv:
        m = _model(srv, name)
        with Store(tmp_path / "s.sqlite") as store:
            start = time.monotonic()
            _, got = run(config(m, max_attempts=3), store, requests_for([m], cases=1))
            waited = time.monotonic() - start
        assert len(srv.requests) == 2
    assert got[0][1].ok
    assert waited >= 0.9  # Retry-After: 1 is honoured


@pytest.mark.parametrize(("dialect", "name", "path"), ADAPTERS)
def test_500_is_retried(tmp_path: Path, dialect: str, name: str, path: str) -> None:
    with FakeProvider(dialect, script=["500"]) as srv:
        m = _model(srv, name)
        with Store(tmp_path / "s.sqlite") as store:
            _, got = run(config(m, max_attempts=3), store, requests_for([m], cases=1))
        assert len(srv.requests) == 2
    assert got[0][1].ok


@pytest.mark.parametrize(("dialect", "name", "path"), ADAPTERS)
def test_a_timeout_is_an_error_that_says_so(
    tmp_path: Path, dialect: str, name: str, path: str
) -> None:
    with FakeProvider(dialect, script=["hang"], hang_seconds=3) as srv:
        m = _model(srv, name)
        with Store(tmp_path / "s.sqlite") as store:
            _, got = run(config(m, timeout=0.5, max_attempts=1), store, requests_for([m], cases=1))
    resp = got[0][1]
    assert resp.error_kind == TIMEOUT
    assert f"m ({srv.url.split('//')[1]}): timed out after 0.5 s" in (resp.error or "")
