"""A real local OpenAI-compatible HTTP server for tests and benchmarks.

    with FakeOpenAI(latency=0.05, rates={"429": 0.1}) as server:
        model = ModelConfig(alias="m", model="openai/fake", api_base=server.url)

Speaks `POST /v1/chat/completions` and `GET /v1/models` on 127.0.0.1 (ephemeral port), in a
background thread with its own event loop. `GET /_stats` returns the counters as JSON, so a
client in another process can read them too.

Requests are counted per key: the `X-Harness-Key` header the Runner sends (the store key of
the request, so distinct samples of one prompt count apart), or, when absent, sha256 of the
body's model + messages.

Faults (`FAULTS`): "429" (no Retry-After), "429-retry-after" (Retry-After: `retry_after`
seconds), "500", "hang" (no answer for `hang_seconds`), "malformed" (200 with a broken JSON
body), "empty" (200 with empty content), "401", "403", "404". Injected by probability with a seeded
RNG (`rates`), by a scripted sequence consumed in arrival order (`script`), per key
(`script_for_key`), or always for given models (`auth_fail_models`).

Run standalone in its own process (benchmarks): `python -m tests.fake_openai --latency 0.2`
prints `PORT <n>` on stdout and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

FAULTS = (
    "429",
    "429-retry-after",
    "500",
    "hang",
    "malformed",
    "empty",
    "401",
    "403",
    "404",
    "context",
)

ReplyFn = Callable[[str, list[dict[str, Any]]], str]


def default_reply(model: str, messages: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:8]
    return f"```python\nasync def answer_{digest}() -> int:\n    return 42\n```\n"


def key_of(headers: Mapping[str, str], body: Mapping[str, Any]) -> str:
    key = headers.get("X-Harness-Key")
    if key:
        return key
    raw = json.dumps([body.get("model"), body.get("messages")], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class Event:
    """One request as the server saw it: arrival time (monotonic), key, model, outcome."""

    at: float
    key: str
    model: str
    outcome: str  # "ok" or a fault name


@dataclass
class FakeOpenAI:
    latency: float = 0.0
    reply: ReplyFn = default_reply
    rates: Mapping[str, float] = field(default_factory=dict)
    seed: int = 0
    script: Sequence[str | None] = ()
    script_for_key: Mapping[str, Sequence[str | None]] = field(default_factory=dict)
    auth_fail_models: Sequence[str] = ()
    retry_after: float | str = 1
    hang_seconds: float = 30.0
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        unknown = [f for f in (*self.rates, *self.script) if f is not None and f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault {unknown[0]!r}; known: {', '.join(FAULTS)}")
        self._rng = random.Random(self.seed)
        self._script: deque[str | None] = deque(self.script)
        self._per_key = {k: deque(v) for k, v in self.script_for_key.items()}
        self._lock = threading.Lock()
        self.attempts: Counter[str] = Counter()  # every request received, per key
        self.successes: Counter[str] = Counter()  # 200 answers with content, per key
        self.events: list[Event] = []
        self.headers_seen: list[dict[str, str]] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/_stats", self._stats)
        return app

    async def start_async(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> FakeOpenAI:
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:  # surfaced to the starting thread
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop_async())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-openai", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inspection ------------------------------------------------------------------------

    @property
    def total_requests(self) -> int:
        with self._lock:
            return sum(self.attempts.values())

    def events_for(self, key: str) -> list[Event]:
        with self._lock:
            return [e for e in self.events if e.key == key]

    def reset_counts(self) -> None:
        with self._lock:
            self.attempts.clear()
            self.successes.clear()
            self.events.clear()
            self.headers_seen.clear()

    # -- handlers --------------------------------------------------------------------------

    def _pick_fault(self, key: str, model: str) -> str | None:
        with self._lock:
            if model in self.auth_fail_models:
                return "401"
            queue = self._per_key.get(key)
            if queue:
                return queue.popleft()
            if self._script:
                return self._script.popleft()
            roll = self._rng.random()
            for name, rate in self.rates.items():
                if roll < rate:
                    return name
                roll -= rate
            return None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, "invalid_request_error", "body is not JSON")
        model = str(body.get("model", ""))
        key = key_of(request.headers, body)
        fault = self._pick_fault(key, model)
        with self._lock:
            self.attempts[key] += 1
            self.events.append(Event(time.monotonic(), key, model, fault or "ok"))
            self.headers_seen.append(dict(request.headers))
        if fault == "hang":
            await asyncio.sleep(self.hang_seconds)
        elif self.latency:
            await asyncio.sleep(self.latency)
        if fault == "429":
            return _error(429, "rate_limit_exceeded", "Rate limit reached")
        if fault == "429-retry-after":
            resp = _error(429, "rate_limit_exceeded", "Rate limit reached")
            resp.headers["Retry-After"] = str(self.retry_after)
            return resp
        if fault in ("500", "hang"):
            return _error(500, "server_error", "The server had an error")
        if fault == "401":
            # Like some providers, echo the key back: the client must never store it.
            auth = request.headers.get("Authorization", "").removeprefix("Bearer ")
            return _error(401, "invalid_api_key", f"Incorrect API key provided: {auth}")
        if fault == "403":
            return _error(403, "permission_denied", "Your key may not use this model")
        if fault == "404":
            return _error(404, "model_not_found", f"The model `{model}` does not exist")
        if fault == "context":
            msg = "This model's maximum context length is 8192 tokens. However, you requested 9000"
            return _error(400, "context_length_exceeded", msg)
        if fault == "malformed":
            return web.Response(
                status=200, text='{"id": "x", "choices": [', content_type="application/json"
            )
        messages = body.get("messages") or []
        text = "" if fault == "empty" else self.reply(model, messages)
        if text:
            with self._lock:
                self.successes[key] += 1
        prompt_tokens = sum(len(str(m.get("content", ""))) for m in messages) // 4 + 1
        payload = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": f"{model}-2024-01-01",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(text) // 4,
                "total_tokens": prompt_tokens + len(text) // 4,
            },
        }
        return web.json_response(payload)

    async def _models(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    async def _stats(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            data = {"attempts": dict(self.attempts), "successes": dict(self.successes)}
        return web.json_response(data)


def _error(status: int, code: str, message: str) -> web.Response:
    body = {"error": {"message": message, "type": code, "param": None, "code": code}}
    return web.json_response(body, status=status)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fake OpenAI-compatible server")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    async def serve() -> None:
        server = FakeOpenAI(latency=args.latency, port=args.port)
        await server.start_async()
        print(f"PORT {server.port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main(sys.argv[1:])
