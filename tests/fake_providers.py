"""Local servers on 127.0.0.1 speaking the Anthropic Messages API and Ollama's API, for the
runner's real litellm adapters (`anthropic/...`, `ollama/...`, `ollama_chat/...`).

`script` is the outcome of each request in order: None (a normal reply), "429" (with
Retry-After: 1), "500", or "hang" (no answer for `hang_seconds`). Replies carry token counts
in each API's own fields. Ollama's `/api/show` (model info litellm asks for) is answered, and
neither scripted nor counted as a request.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

REPLY = "```python\nasync def answer() -> int:\n    return 42\n```\n"


@dataclass
class FakeProvider:
    dialect: str  # "anthropic" | "ollama"
    script: Sequence[str | None] = ()
    hang_seconds: float = 5.0
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._script: deque[str | None] = deque(self.script)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _next(self) -> str | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read() or b"{}")
        if request.path == "/api/show":  # litellm asks Ollama about the model: not a call
            return web.json_response({"details": {}, "model_info": {}, "template": ""})
        with self._lock:
            self.requests.append((request.path, body))
        fault = self._next()
        if fault == "429":
            return web.json_response(
                _error(self.dialect, "rate_limit_error", "slow down"),
                status=429,
                headers={"Retry-After": "1"},
            )
        if fault == "500":
            return web.json_response(_error(self.dialect, "api_error", "boom"), status=500)
        if fault == "hang":
            await asyncio.sleep(self.hang_seconds)
        model = str(body.get("model", "m"))
        if self.dialect == "anthropic":
            return web.json_response(
                {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": REPLY}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": 11, "output_tokens": 7},
                }
            )
        done = {"model": model, "created_at": "2024-01-01T00:00:00Z", "done": True}
        counts = {"prompt_eval_count": 11, "eval_count": 7, "done_reason": "stop"}
        if request.path.endswith("/chat"):
            return web.json_response(
                {**done, **counts, "message": {"role": "assistant", "content": REPLY}}
            )
        return web.json_response({**done, **counts, "response": REPLY})

    def start(self) -> FakeProvider:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_route("POST", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, self.port)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _error(dialect: str, kind: str, message: str) -> dict[str, Any]:
    if dialect == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": message}
