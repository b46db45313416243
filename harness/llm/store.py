"""The response store: SQLite (WAL) keyed by request key.

Only successful responses are kept as answers; the last error of a key is kept apart (so a
re-run retries it). Writes go through one writer thread that commits what has arrived every 50 ms
in one transaction, so the event loop never waits on disk and a killed run loses at most the
last 50 ms of answers. Rows hold the model string, messages, params and response fields:
never keys or headers.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import StoreError
from harness.llm.records import read_records
from harness.llm.types import Request, Response
from harness.text import LONE_SURROGATE

SCHEMA_VERSION = 1
COMMIT_INTERVAL = 0.05  # seconds between batched commits while a run writes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    messages TEXT NOT NULL,
    params TEXT NOT NULL,
    sample INTEGER NOT NULL,
    text TEXT NOT NULL,
    finish_reason TEXT,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost REAL,
    latency_ms REAL NOT NULL DEFAULT 0,
    provider_model TEXT,
    created_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS responses_model ON responses(model);
CREATE TABLE IF NOT EXISTS errors (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    error_kind TEXT,
    error TEXT,
    at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires REAL NOT NULL
) WITHOUT ROWID;
"""

_COLUMNS = (
    "key, model, messages, params, sample, text, finish_reason, prompt_tokens,"
    " completion_tokens, cost, latency_ms, provider_model, created_at"
)
_ROW_MARKS = "(" + ", ".join("?" * len(_COLUMNS.split(","))) + ")"
_INSERT_HEAD = f"INSERT OR REPLACE INTO responses ({_COLUMNS}) VALUES "
_INSERT = _INSERT_HEAD + _ROW_MARKS
_INSERT_IGNORE = _INSERT.replace("INSERT OR REPLACE", "INSERT OR IGNORE")
# Rows per multi-row INSERT: within SQLite's smallest default limit of 999 bound variables.
ROWS_PER_STATEMENT = 999 // len(_COLUMNS.split(","))


@functools.cache
def _insert_rows(n: int) -> str:
    """`_INSERT` for n rows in one statement."""
    return _INSERT_HEAD + ", ".join([_ROW_MARKS] * n)


_SELECT = (
    "SELECT text, finish_reason, prompt_tokens, completion_tokens, cost, latency_ms,"
    " provider_model FROM responses WHERE key = ?"
)
_EXPORT_FIELDS = _COLUMNS.removesuffix(", created_at")


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _json_column(value: object) -> str:
    """JSON for a TEXT column: as UTF-8 text, or with \\u escapes when the value holds text
    UTF-8 cannot carry (a lone surrogate). Either way `json.loads` gives the value back."""
    text = _dumps(value)
    if LONE_SURROGATE.search(text) is None:
        return text
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _text_column(value: str | None) -> str | bytes | None:
    """A reply for the TEXT column, losslessly: text UTF-8 cannot carry (a lone surrogate,
    valid in JSON) is kept as its surrogate-pass bytes, which `_from_column` reads back."""
    if value is None or LONE_SURROGATE.search(value) is None:
        return value
    return value.encode("utf-8", "surrogatepass")


def _from_column(value: str | bytes | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogatepass")
    return value


@dataclass(frozen=True)
class ModelStats:
    model: str
    rows: int
    cost: float
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class StoreStats:
    path: str
    rows: int
    errors: int
    size_bytes: int
    cost: float
    models: tuple[ModelStats, ...]


_Row = tuple[Any, ...]


class Store:
    """SQLite response store. Thread-safe; `put` returns at once, `flush` waits for disk."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.commit()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StoreError(
                f"cannot open the response store: {exc}",
                path=str(self.path),
                hint="pass another path with --store, or delete the file to start afresh",
            ) from None
        self._local = threading.local()
        self._local.conn = conn
        self._pending: dict[str, Response] = {}  # put but not yet committed
        self._lock = threading.Lock()
        self._cond = threading.Condition(threading.Lock())
        self._buffer: list[tuple[str, _Row]] = []
        self._submitted = 0
        self._committed = 0
        #: Called from the writer thread with the last sequence number each commit covers.
        self.on_commit: Callable[[int], None] | None = None
        self._flush_wanted = False
        self._closing = False
        self._writer: threading.Thread | None = None
        self._write_error: BaseException | None = None
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    # -- reads -----------------------------------------------------------------------------

    def get(self, key: str) -> Response | None:
        """The stored successful response for `key` (cached=True), or None."""

        pending = self._pending.get(key)
        if pending is not None:
            return pending
        row = self._conn().execute(_SELECT, (key,)).fetchone()
        if row is None:
            return None
        return Response(
            key=key,
            text=_from_column(row[0]),
            finish_reason=row[1],
            prompt_tokens=row[2],
            completion_tokens=row[3],
            cost=row[4],
            latency_ms=row[5],
            provider_model=row[6],
            cached=True,
            error=None,
            error_kind=None,
        )

    def get_many(self, keys: Sequence[str]) -> dict[str, Response]:
        """The stored successful responses among `keys` (cached=True), in one query."""
        found: dict[str, Response] = {}
        rest: list[str] = []
        for key in keys:
            pending = self._pending.get(key)
            if pending is not None:
                found[key] = pending
            else:
                rest.append(key)
        if rest:
            marks = ",".join("?" * len(rest))
            sql = (
                "SELECT key, text, finish_reason, prompt_tokens, completion_tokens, cost,"
                f" latency_ms, provider_model FROM responses WHERE key IN ({marks})"
            )
            for r in self._conn().execute(sql, rest):
                found[r[0]] = Response(
                    r[0], _from_column(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], True, None, None
                )
        return found

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def last_error(self, key: str) -> tuple[str | None, str | None] | None:
        """(error_kind, error) of the last failed call for `key`, if any."""
        self.flush()
        row = (
            self._conn()
            .execute("SELECT error_kind, error FROM errors WHERE key = ?", (key,))
            .fetchone()
        )
        return None if row is None else (row[0], row[1])

    def errors_many(self, keys: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
        """(error_kind, error) of the last failed call of each key that has one."""
        self.flush()
        sql = (
            f"SELECT key, error_kind, error FROM errors WHERE key IN ({','.join('?' * len(keys))})"
        )
        return {k: (kind, err) for k, kind, err in self._conn().execute(sql, list(keys))}

    def keys(self) -> set[str]:
        self.flush()
        return {r[0] for r in self._conn().execute("SELECT key FROM responses")}

    def stats(self) -> StoreStats:
        self.flush()
        conn = self._conn()
        models = tuple(
            ModelStats(
                model=r[0],
                rows=r[1],
                cost=r[2] or 0.0,
                prompt_tokens=r[3] or 0,
                completion_tokens=r[4] or 0,
            )
            for r in conn.execute(
                "SELECT model, COUNT(*), SUM(cost), SUM(prompt_tokens), SUM(completion_tokens)"
                " FROM responses GROUP BY model ORDER BY model"
            )
        )
        errors = conn.execute("SELECT COUNT(*) FROM errors").fetchone()[0]
        size = sum(
            p.stat().st_size
            for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
            if p.exists()
        )
        return StoreStats(
            path=str(self.path),
            rows=sum(m.rows for m in models),
            errors=errors,
            size_bytes=size,
            cost=sum(m.cost for m in models),
            models=models,
        )

    # -- writes ----------------------------------------------------------------------------

    def put(self, key: str, response: Response, request: Request) -> int:
        """Keep a successful response. Returns at once with its write's sequence number, which
        `on_commit` reports once it is committed (within milliseconds)."""
        if not response.ok or response.text is None:
            raise ValueError("only successful responses are stored")
        with self._lock:
            self._pending[key] = response.as_cached()
        # The row (JSON of messages and params) is built by the writer thread, off the loop.
        return self._submit(("put", (key, response, request, time.time())))

    def put_error(self, key: str, model: str, error_kind: str | None, error: str | None) -> None:
        """Remember the last error of `key` (not an answer: a re-run calls again)."""
        self._submit(("error", (key, model, error_kind, error, time.time())))

    def _submit(self, op: tuple[str, _Row]) -> int:
        if self._closed:
            raise StoreError("the response store is closed", path=str(self.path))
        if self._write_error is not None:
            raise StoreError(
                f"cannot write the response store: {self._write_error}", path=str(self.path)
            )
        with self._cond:
            self._buffer.append(op)
            self._submitted += 1
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_loop, name="harness-store-writer", daemon=True
                )
                self._writer.start()
            return self._submitted

    def _write_loop(self) -> None:
        # Wakes every COMMIT_INTERVAL (or at once on flush/close) and commits everything
        # buffered in one transaction. Polling keeps the event loop free of thread wake-ups.
        conn = self._connect()
        while True:
            with self._cond:
                if not (self._flush_wanted or self._closing):
                    self._cond.wait(COMMIT_INTERVAL)
                ops, self._buffer = self._buffer, []
                seq = self._submitted
                self._flush_wanted = False
                closing = self._closing
            if ops:
                try:
                    self._commit(conn, ops)
                except BaseException as exc:  # never leave a flush waiting on a dead thread
                    self._write_error = exc
            with self._cond:
                self._committed = seq
                self._cond.notify_all()
            listener = self.on_commit
            if ops and listener is not None:
                with contextlib.suppress(Exception):
                    listener(seq)
            if closing:
                break
        conn.close()

    def _commit(self, conn: sqlite3.Connection, ops: list[tuple[str, _Row]]) -> None:
        puts: list[_Row] = []
        for kind, op in ops:
            if kind != "put":
                continue
            try:
                puts.append(_put_row(*op))
            except (TypeError, ValueError, RecursionError) as exc:  # params that are not JSON
                self._write_error = exc
                with self._lock:
                    self._pending.pop(op[0], None)
        errors = [row for kind, row in ops if kind == "error"]
        try:
            with conn:
                # Many rows per statement: each statement step releases and retakes the GIL,
                # which costs the event loop a thread switch.
                for i in range(0, len(puts), ROWS_PER_STATEMENT):
                    chunk = puts[i : i + ROWS_PER_STATEMENT]
                    conn.execute(_insert_rows(len(chunk)), [v for row in chunk for v in row])
                    marks = ",".join("?" * len(chunk))
                    keys = [r[0] for r in chunk]
                    conn.execute(f"DELETE FROM errors WHERE key IN ({marks})", keys)
                    conn.execute(f"DELETE FROM claims WHERE key IN ({marks})", keys)
                if errors:
                    conn.executemany("INSERT OR REPLACE INTO errors VALUES (?, ?, ?, ?, ?)", errors)
                    conn.executemany("DELETE FROM claims WHERE key = ?", [e[:1] for e in errors])
        except Exception as exc:  # the writer must live on, and the run hear of it
            self._write_error = exc
        with self._lock:
            for row in puts:
                self._pending.pop(row[0], None)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything put so far is committed. False on timeout."""
        with self._cond:
            if self._writer is None or self._committed >= self._submitted:
                return True
            target = self._submitted
            self._flush_wanted = True
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._committed >= target, timeout)

    def close(self) -> None:
        if self._closed:
            return
        if self._writer is not None:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            self._writer.join()
        self._closed = True
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        if self._write_error is not None:
            raise StoreError(
                f"cannot write the response store: {self._write_error}", path=str(self.path)
            )

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- claims: several processes sharing one store call a provider once per key ---------

    def claim(
        self,
        keys: Sequence[str],
        owner: str,
        lease: float,
        gone: Callable[[str], bool] | None = None,
    ) -> set[str]:
        """Claim, in one transaction and for `lease` seconds, the keys no other live process
        holds (`gone(owner)` says an owner's process has ended) and none has answered yet. A
        committed answer or error releases a claim; an answer committed after the caller
        looked for it is seen here, so it is not paid for twice. Returns the keys won."""
        if not keys:
            return set()
        now = time.time()
        conn = self._conn()
        with conn:
            conn.execute("BEGIN IMMEDIATE")  # the check and the claim see one state
            marks = ",".join("?" * len(keys))
            found = conn.execute(f"SELECT key FROM responses WHERE key IN ({marks})", list(keys))
            answered = {k for (k,) in found}
            open_keys = [k for k in keys if k not in answered]
            if not open_keys:
                return set()
            marks = ",".join("?" * len(open_keys))
            conn.executemany(
                "INSERT INTO claims VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
                " owner = excluded.owner, expires = excluded.expires"
                " WHERE claims.expires < ? OR claims.owner = excluded.owner",
                [(key, owner, now + lease, now) for key in open_keys],
            )
            held = dict(
                conn.execute(f"SELECT key, owner FROM claims WHERE key IN ({marks})", open_keys)
            )
            taken = [
                k for k in open_keys if held.get(k) != owner and gone and gone(held.get(k, ""))
            ]
            if taken:
                conn.executemany(
                    "UPDATE claims SET owner = ?, expires = ? WHERE key = ?",
                    [(owner, now + lease, k) for k in taken],
                )
        return {k for k in open_keys if held.get(k) == owner} | set(taken)

    def release_claims(self, owner: str) -> None:
        """Drop every claim `owner` still holds (its run is over)."""
        self.flush()
        with self._conn() as conn:
            conn.execute("DELETE FROM claims WHERE owner = ?", (owner,))

    # -- export / import -------------------------------------------------------------------

    def iter_records(
        self, *, keys: Iterable[str] | None = None, models: Sequence[str] = ()
    ) -> Iterator[dict[str, Any]]:
        """Stored responses as plain records, ordered by key (the JSONL export shape)."""
        self.flush()
        conn = self._conn()
        wanted = None if keys is None else set(keys)
        sql = f"SELECT {_EXPORT_FIELDS} FROM responses"
        args: tuple[str, ...] = ()
        if models:
            sql += f" WHERE model IN ({', '.join('?' * len(models))})"
            args = tuple(models)
        for r in conn.execute(sql + " ORDER BY key", args):
            if wanted is not None and r[0] not in wanted:
                continue
            yield {
                "key": r[0],
                "model": r[1],
                "messages": json.loads(r[2]),
                "params": json.loads(r[3]),
                "sample": r[4],
                "response": {
                    "text": _from_column(r[5]),
                    "finish_reason": r[6],
                    "prompt_tokens": r[7],
                    "completion_tokens": r[8],
                    "cost": r[9],
                    "latency_ms": r[10],
                    "provider_model": r[11],
                },
            }

    def export(
        self, path: str | Path, *, keys: Iterable[str] | None = None, models: Sequence[str] = ()
    ) -> int:
        """Write JSONL (one response per line, sorted keys and lines). Returns the count."""
        n = 0
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for record in self.iter_records(keys=keys, models=models):
                fh.write(_json_column(record) + "\n")
                n += 1
        tmp.replace(out)
        return n

    def import_(self, path: str | Path) -> tuple[int, int]:
        """Load a JSONL export. Idempotent: rows already present are kept. (added, skipped).

        Every line is validated first; any invalid line raises StoreError listing each one
        (`file:line: problem`), and nothing is imported.
        """
        now = time.time()
        rows: list[_Row] = [
            (
                key,
                rec.model,
                _json_column([dict(m) for m in rec.messages]),
                _json_column(dict(rec.params)),
                rec.sample,
                _text_column(rec.response.text),
                rec.response.finish_reason,
                rec.response.prompt_tokens,
                rec.response.completion_tokens,
                rec.response.cost,
                rec.response.latency_ms,
                rec.response.provider_model,
                now,
            )
            for key, rec in read_records(path)
        ]
        self.flush()
        conn = self._conn()
        with conn:
            before = conn.total_changes
            conn.executemany(_INSERT_IGNORE, rows)
            added = conn.total_changes - before
        return added, len(rows) - added


def _put_row(key: str, response: Response, request: Request, at: float) -> _Row:
    return (
        key,
        request.model.model,
        _json_column(list(request.messages)),
        _json_column(dict(request.params)),
        request.sample,
        _text_column(response.text),
        response.finish_reason,
        response.prompt_tokens,
        response.completion_tokens,
        response.cost,
        response.latency_ms,
        response.provider_model,
        at,
    )
