"""The response store, its key, and `harness store`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.config import ModelConfig
from harness.errors import StoreError
from harness.llm.store import Store
from harness.llm.types import Request, Response, request_key

MODEL = ModelConfig(alias="m", model="openai/fake", params={"max_tokens": 100})


def answer(req: Request, text: str = "```python\nx = 1\n```") -> Response:
    return Response(req.key, text, "stop", 10, 5, 0.001, 12.5, "fake-1", False, None, None)


def reqs(n: int, model: ModelConfig = MODEL) -> list[Request]:
    return [
        Request.make(model, [{"role": "user", "content": f"q{i}"}], {"temperature": 0}, 0)
        for i in range(n)
    ]


def test_key_is_canonical_and_covers_sample_and_params() -> None:
    msgs = [{"role": "user", "content": "hi"}]
    k = request_key("openai/x", msgs, {"a": 1, "b": 2}, 0)
    assert k == request_key("openai/x", msgs, {"b": 2, "a": 1}, 0)
    assert (
        len(
            {
                k,
                request_key("openai/x", msgs, {"a": 1, "b": 2}, 1),
                request_key("openai/y", msgs, {"a": 1, "b": 2}, 0),
                request_key("openai/x", msgs, {"a": 1}, 0),
            }
        )
        == 4
    )


def test_request_merges_model_params_over_template_params() -> None:
    req = Request.make(MODEL, [{"role": "user", "content": "hi"}], {"max_tokens": 5, "t": 1}, 2)
    assert dict(req.params) == {"max_tokens": 100, "t": 1}
    assert req.key == request_key("openai/fake", req.messages, req.params, 2)


def test_put_is_readable_at_once_and_after_reopen(tmp_path: Path) -> None:
    [req] = reqs(1)
    with Store(tmp_path / "s.sqlite") as store:
        assert store.get(req.key) is None
        store.put(req.key, answer(req), req)
        got = store.get(req.key)
        assert got is not None and got.cached and got.text == answer(req).text
    with Store(tmp_path / "s.sqlite") as store:
        again = store.get(req.key)
        assert again is not None and again.prompt_tokens == 10 and again.provider_model == "fake-1"
        with pytest.raises(ValueError):
            store.put(req.key, Response.failed(req.key, "transient", "boom"), req)


def test_a_large_batch_commits_every_row_and_clears_their_errors(tmp_path: Path) -> None:
    from harness.llm import store as store_mod

    many = reqs(3 * store_mod.ROWS_PER_STATEMENT + 5)  # several multi-row statements
    with Store(tmp_path / "s.sqlite") as store:
        store.put_error(many[0].key, MODEL.model, "rate-limit", "429")
        store.put_error(many[-1].key, MODEL.model, "transient", "500")
        store.put_error("other", MODEL.model, "transient", "500")
        assert store.flush()
        for i, r in enumerate(many):  # a burst, committed in few transactions
            store.put(r.key, answer(r, f"answer {i}"), r)
        assert store.flush()
        assert store.last_error(many[0].key) is None
        assert store.last_error(many[-1].key) is None
        assert store.last_error("other") == ("transient", "500")
    with Store(tmp_path / "s.sqlite") as store:
        assert store.keys() == {r.key for r in many}
        for i in (0, store_mod.ROWS_PER_STATEMENT, len(many) - 1):
            got = store.get(many[i].key)
            assert got is not None and got.text == f"answer {i}" and got.provider_model == "fake-1"


def test_export_import_round_trip_is_stable_and_idempotent(tmp_path: Path) -> None:
    rs = reqs(5)
    with Store(tmp_path / "a.sqlite") as a:
        for r in rs:
            a.put(r.key, answer(r, f"reply {r.key[:6]}"), r)
        assert a.export(tmp_path / "a.jsonl") == 5
        assert a.export(tmp_path / "one.jsonl", keys=[rs[0].key]) == 1
    with Store(tmp_path / "b.sqlite") as b:
        assert b.import_(tmp_path / "a.jsonl") == (5, 0)
        assert b.import_(tmp_path / "a.jsonl") == (0, 5)
        b.export(tmp_path / "b.jsonl")
        assert b.stats().rows == 5
    text = (tmp_path / "a.jsonl").read_text()
    assert text == (tmp_path / "b.jsonl").read_text()
    first = json.loads(text.splitlines()[0])
    assert list(first) == sorted(first)


def test_import_rejects_edited_records(tmp_path: Path) -> None:
    [req] = reqs(1)
    with Store(tmp_path / "a.sqlite") as a:
        a.put(req.key, answer(req), req)
        a.export(tmp_path / "a.jsonl")
    rec = json.loads((tmp_path / "a.jsonl").read_text())
    rec["messages"][0]["content"] = "edited"
    (tmp_path / "bad.jsonl").write_text("\n" + json.dumps(rec) + "\n")
    with Store(tmp_path / "b.sqlite") as b, pytest.raises(StoreError) as err:
        b.import_(tmp_path / "bad.jsonl")
    assert err.value.line == 2


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    bad = tmp_path / "s.sqlite"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError):
        Store(bad)


def test_store_command_stats_export_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "harness.yaml").write_text(
        "store: st/store.sqlite\nmodels:\n  - alias: m\n    model: openai/fake\n"
    )
    other = ModelConfig(alias="o", model="openai/other")
    with Store(tmp_path / "st" / "store.sqlite") as store:
        for r in [*reqs(3), *reqs(2, other)]:
            store.put(r.key, answer(r), r)
    assert main(["store", "stats"]) == 0
    out = capsys.readouterr().out
    assert "responses: 5" in out and "openai/fake: 3 responses" in out
    assert main(["store", "export", "--model", "m", "m.jsonl"]) == 0
    assert len((tmp_path / "m.jsonl").read_text().splitlines()) == 3
    assert main(["store", "--store", "copy.sqlite", "import", "m.jsonl"]) == 0
    assert main(["store", "--store", "copy.sqlite", "import", "m.jsonl"]) == 0
    out = capsys.readouterr().out
    assert "imported 3 responses" in out and "imported 0 responses" in out


def test_a_claim_is_won_once_and_never_on_an_answered_key(tmp_path: Path) -> None:
    a, b = reqs(2)
    with Store(tmp_path / "s.sqlite") as one, Store(tmp_path / "s.sqlite") as two:
        assert one.claim([a.key, b.key], "p1", lease=60) == {a.key, b.key}
        assert two.claim([a.key, b.key], "p2", lease=60) == set()  # held by a live owner
        # p1 answers `a`; its claim is released. p2 looked before the commit and claims
        # after it: the answer is there, so `a` is not called again.
        one.put(a.key, answer(a), a)
        assert one.flush(timeout=10)
        assert two.claim([a.key], "p2", lease=60) == set()
        assert two.get(a.key) is not None
        # An owner whose process has ended loses its claims; an expired lease too.
        assert two.claim([b.key], "p2", lease=60, gone=lambda owner: owner == "p1") == {b.key}
        assert one.claim([b.key], "p1", lease=60) == set()
        assert two.claim([b.key], "p2", lease=-1) == {b.key}  # p2 renews (already expired)
        assert one.claim([b.key], "p1", lease=60) == {b.key}
