"""The evaluation matrix: templates x cases x models x samples.

Requests are generated lazily and answered by the Runner (store first, then litellm). Each
answer is checked off the event loop: a checker thread batches replies (64, or every 0.5 s),
and a worker process extracts the code, runs the rules, runs ruff once per batch and scores.
Identical replies to the same template are checked once. Every SampleResult is appended to
`<run dir>/results.jsonl` as it finishes; the summary is aggregated by streaming that file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import multiprocessing
import os
import queue
import secrets
import shlex
import subprocess
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from harness import __version__
from harness.code.unit import Role
from harness.config import HarnessConfig, ModelConfig
from harness.errors import ConfigError, TemplateError
from harness.llm.client import BUDGET
from harness.record import (
    SCHEMA_VERSION,
    UNSCORED,
    FindingRecord,
    ModelInfo,
    RunMeta,
    SampleResult,
    UnitRecord,
    Usage,
    iter_results,
    read_meta,
    write_meta,
)
from harness.shard import Shard
from harness.templates.spec import Case, Expect, TemplateSpec

if TYPE_CHECKING:
    from harness.code.engine import RuleSet
    from harness.llm.client import Request, Response, RunStats
    from harness.llm.store import Store
    from harness.scoring import RunSummary

T = TypeVar("T")

BATCH_SIZE = 64
BATCH_WAIT = 0.5  # seconds
MEMO_SIZE = 512  # compact entries (status + JSON fragment): a few MB at most
QUEUE_SIZE = 2048
POOL_THRESHOLD = 256  # below this many requests, check in a thread (no process start-up)
WORKER_NICE = 5  # the check worker yields the CPU to the process making the calls
SIM_SAMPLE_PARAM = "sim_sample"
SIM_VERSION_PARAM = "sim_version"
_SIM_VERSION: list[str] = []


def _sim_version() -> str:
    if not _SIM_VERSION:
        from harness.llm import sim

        _SIM_VERSION.append(hashlib.sha256(Path(sim.__file__).read_bytes()).hexdigest()[:12])
    return _SIM_VERSION[0]


# --------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class Selection:
    """What to run. Empty tuples mean "everything"."""

    templates: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    cases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    samples: int | None = None


@dataclass(frozen=True)
class EvalOptions:
    selection: Selection = Selection()
    offline: bool = False
    no_cache: bool = False
    max_cost: float | None = None
    resume: str | None = None
    run_id: str | None = None
    out: Path | None = None  # reports dir (the run dir is <out>/<run id>)
    ruff: bool = True
    progress: bool | None = None
    workers: int | None = None  # check processes; 0 = check in a thread; None = auto
    shard: Shard | None = None  # run only this deterministic slice of the matrix


@dataclass(frozen=True)
class Unrecorded:
    template: str
    case: str
    model: str
    sample: int
    key: str


@dataclass(frozen=True)
class EvalOutcome:
    run_dir: Path
    meta: RunMeta
    summary: RunSummary | None  # None when interrupted
    reports: dict[str, Path]
    exit_code: int
    planned: int
    resumed: int
    unrecorded: tuple[Unrecorded, ...]
    unrecorded_total: int
    errors: tuple[str, ...]  # first provider errors, "template/case/model#sample: message"
    error_total: int
    failed_models: tuple[str, ...]  # models for which no sample got a result
    interrupted: bool
    stats: RunStats | None
    budget_skipped: int = 0  # samples not called because max_cost was reached


@dataclass(frozen=True, slots=True)
class _Cell:
    """One (template, case, model): what every sample of it shares."""

    spec: TemplateSpec
    template_hash: str
    case: Case
    model: ModelConfig
    role: Role
    prompt: tuple[dict[str, str], ...]
    params: dict[str, Any]
    samples: int
    offline: bool  # answer from the store only
    head: str  # the cell's SampleResult fields as JSON object members (no braces)


@dataclass(frozen=True, slots=True)
class _Tag:
    cell: _Cell
    sample: int


def resolve_models(config: HarnessConfig, names: Sequence[str]) -> tuple[ModelConfig, ...]:
    """Aliases from the config, or ad-hoc litellm strings (`openai/gpt-4o`, `sim/careful`)."""
    if not names:
        if not config.models:
            raise ConfigError(
                "no models configured",
                hint="add `models:` to harness.yaml, or pass --models sim/careful,sim/sloppy",
            )
        return config.models
    out: list[ModelConfig] = []
    for name in names:
        found = next((m for m in config.models if m.alias == name), None)
        if found is None:
            found = next((m for m in config.models if m.model == name), None)
        if found is None:
            if "/" not in name:
                config.model(name)  # raises with the list of configured aliases
            found = ModelConfig.model_construct(alias=name, model=name)
        if found not in out:
            out.append(found)
    return tuple(out)


def select_templates(config: HarnessConfig, sel: Selection) -> tuple[TemplateSpec, ...]:
    from harness.templates.loader import load_templates

    root = config.path(config.templates_dir)
    if not root.exists():
        raise ConfigError(
            f"templates directory not found: {root}", hint="set templates_dir in harness.yaml"
        )
    loaded = load_templates([root])
    specs = loaded.specs
    if loaded.errors and (not sel.templates or len(specs) < len(sel.templates)):
        raise loaded.errors[0]
    if sel.templates:
        known = {s.id: s for s in specs}
        missing = [t for t in sel.templates if t not in known]
        if missing:
            raise ConfigError(
                f"unknown template {missing[0]!r}", hint=f"templates: {', '.join(sorted(known))}"
            )
        specs = tuple(known[t] for t in sel.templates)
    if sel.tags:
        specs = tuple(s for s in specs if set(s.tags) & set(sel.tags))
    if sel.cases:
        all_cases = {c.name for s in specs for c in s.cases}
        missing = [c for c in sel.cases if c not in all_cases]
        if missing:
            raise ConfigError(
                f"unknown case {missing[0]!r}", hint=f"cases: {', '.join(sorted(all_cases))}"
            )
    if not specs:
        raise ConfigError("no templates selected", path=str(root))
    ids = [s.id for s in specs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise TemplateError(f"duplicate template id {dup[0]!r}", path=str(root))
    return specs


def _has_key(model: ModelConfig) -> bool:
    """Whether litellm finds what it needs to call `model` (keys in the environment)."""
    if model.simulated:
        return True
    from harness.llm import load_litellm

    try:
        env = load_litellm().validate_environment(model=model.model, api_base=model.api_base)
    except Exception:
        return True  # unknown to litellm's check: let the call say what is wrong
    missing = [
        k for k in env.get("missing_keys", ()) if not (model.api_base and k.endswith("_BASE"))
    ]
    return not missing


def _samples(sel: Selection, spec: TemplateSpec, model: ModelConfig, config: HarnessConfig) -> int:
    return sel.samples or spec.samples or model.samples or config.samples


def plan_cells(
    config: HarnessConfig,
    specs: Sequence[TemplateSpec],
    models: Sequence[ModelConfig],
    sel: Selection,
    offline_models: frozenset[str],
    hashes: dict[str, str] | None = None,
) -> list[_Cell]:
    from harness.templates.render import render

    cells: list[_Cell] = []
    for spec in specs:
        digest = hashes[spec.id] if hashes is not None else spec.content_hash()
        role = Role(spec.expect.role) if spec.expect.role else Role.OTHER
        for case in spec.cases:
            if sel.cases and case.name not in sel.cases:
                continue
            rendered = render(spec, case)
            prompt = tuple(m.as_dict() for m in rendered.messages)
            for model in models:
                head = _dumps(
                    {
                        "template": spec.id,
                        "template_hash": digest,
                        "case": case.name,
                        "model": model.alias,
                        "model_string": model.model,
                        "simulated": model.simulated,
                        "prompt": prompt,
                    }
                )[1:-1]
                cells.append(
                    _Cell(
                        spec=spec,
                        template_hash=digest,
                        case=case,
                        model=model,
                        role=role,
                        prompt=prompt,
                        params=dict(rendered.params),
                        samples=_samples(sel, spec, model, config),
                        offline=model.alias in offline_models,
                        head=head,
                    )
                )
    return cells


def make_request(cell: _Cell, sample: int) -> Request:
    from harness.llm.client import Request

    params = cell.params
    if cell.model.simulated:
        # The sample index reaches the simulated model so samples differ, as real ones do;
        # the simulator's version keeps stored answers of an older simulator from replaying.
        params = {**params, SIM_SAMPLE_PARAM: sample, SIM_VERSION_PARAM: _sim_version()}
    return Request.make(cell.model, cell.prompt, params, sample, tag=_Tag(cell, sample))


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True, slots=True)
class CheckJob:
    reply: str
    finish_reason: str | None
    role: Role
    expect: Expect
    min_score: float
    path: str


@dataclass(frozen=True, slots=True)
class Checked:
    status: str
    score: float
    passed: bool
    applicable: tuple[str, ...]
    weights: dict[str, float]
    findings: tuple[FindingRecord, ...]
    units: tuple[UnitRecord, ...]
    detail: str | None

    def fragment(self) -> str:
        """The checked fields of a SampleResult as JSON object members (no braces)."""
        doc = {
            "status": self.status,
            "score": self.score,
            "passed": self.passed,
            "applicable": self.applicable,
            "weights": self.weights,
            "findings": [f.model_dump(mode="json") for f in self.findings],
            "units": [u.model_dump(mode="json") for u in self.units],
            "detail": self.detail,
        }
        return _dumps(doc)[1:-1]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the main process keeps of a check: the status (for the tally) and the checked
    fields, already serialised (`Checked.fragment`), so a result line is string joining."""

    status: str
    fragment: str


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What every reply to one template is checked against (sent to the worker once)."""

    role: Role
    expect: Expect
    min_score: float
    path: str


# (reply, finish_reason, template id): all a worker needs per reply, cheap to pickle.
_Job = tuple[str, str | None, str]

_WORKER: dict[str, Any] = {}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=True).encode


def _init_worker(
    settings: Any, ruff_select: tuple[str, ...] | None, specs: dict[str, JobSpec]
) -> None:
    from harness.code.engine import RuleSet

    # Checking is throughput work; the event loop making the calls is latency work. On a
    # small machine let the loop have the CPU first (ruff, started from here, inherits this).
    with contextlib.suppress(AttributeError, OSError):
        os.nice(WORKER_NICE)

    _WORKER["ruleset"] = RuleSet.build(settings=settings)
    _WORKER["ruff"] = ruff_select
    _WORKER["specs"] = specs


def _warm_reports() -> None:
    """Load the rule registry and the writers the worker runs at the end (markdown, SARIF,
    HTML) while it would otherwise wait for the first answers."""
    import harness.report.markdown
    from harness.registry import all_rules
    from harness.report import html

    all_rules()
    html.preload()
    with contextlib.suppress(ImportError):
        import harness.report.sarif  # noqa: F401


def _write_reports(
    run_dir: Path, meta: RunMeta, summary: RunSummary, results_path: Path, formats: tuple[str, ...]
) -> dict[str, Path]:
    from harness.report import write_reports

    return write_reports(run_dir, meta, summary, results_path, formats=formats)


def _check_in_worker(jobs: Sequence[_Job]) -> list[tuple[str, str]]:
    return check_verdicts(jobs, _WORKER["specs"], _WORKER["ruleset"], _WORKER["ruff"])


def check_verdicts(
    jobs: Sequence[_Job],
    specs: dict[str, JobSpec],
    ruleset: RuleSet,
    ruff_select: Sequence[str] | None,
) -> list[tuple[str, str]]:
    """`check_batch` for compact jobs; each result as (status, JSON fragment)."""
    full = [
        CheckJob(reply, finish, js.role, js.expect, js.min_score, js.path)
        for reply, finish, template in jobs
        for js in (specs[template],)
    ]
    return [(c.status, c.fragment()) for c in check_batch(full, ruleset, ruff_select)]


def check_batch(
    jobs: Sequence[CheckJob], ruleset: RuleSet, ruff_select: Sequence[str] | None
) -> list[Checked]:
    """Extract, check, ruff (one process for the whole batch) and score each job. Pure."""
    from harness.code.engine import check_unit
    from harness.code.extract import extract
    from harness.scoring import score_sample

    extractions = [
        extract(j.reply, role=j.role, default_path=j.path, finish_reason=j.finish_reason)
        for j in jobs
    ]
    results = [
        [check_unit(u, ruleset) for u in ex.units] if ex.outcome == "code" else []
        for ex in extractions
    ]
    ruff_per_job: list[list[tuple]] = [[() for _ in rs] for rs in results]
    if ruff_select:
        from harness.code.ruff import run_ruff

        where = [
            (i, k)
            for i, rs in enumerate(results)
            if rs and all(r.status == "ok" for r in rs)
            for k in range(len(rs))
        ]
        found = run_ruff([results[i][k].unit for i, k in where], ruff_select)
        for (i, k), fs in zip(where, found, strict=True):
            ruff_per_job[i][k] = fs
    out: list[Checked] = []
    for job, ex, rs, rf in zip(jobs, extractions, results, ruff_per_job, strict=True):
        sc = score_sample(
            rs,
            rf if ruff_select else (),
            job.expect,
            job.min_score,
            outcome=ex.outcome,
            detail=ex.detail or None,
        )
        units = tuple(
            UnitRecord(
                path=r.unit.path,
                source=r.unit.source,
                first_line=r.unit.first_line,
                parse_error=(
                    f"{r.parse_error.line}:{r.parse_error.col}: {r.parse_error.message}"
                    if r.parse_error
                    else None
                ),
            )
            for r in rs
        ) or tuple(
            UnitRecord(path=u.path, source=u.source, first_line=u.first_line) for u in ex.units
        )
        out.append(
            Checked(
                status=sc.status,
                score=sc.score,
                passed=sc.passed,
                applicable=sc.applicable,
                weights=dict(sc.weights),
                findings=tuple(FindingRecord.of(f, unit=i) for i, f in sc.findings),
                units=units,
                detail=sc.detail,
            )
        )
    return out


@dataclass(slots=True)
class _Pending:
    request: Request
    response: Response
    memo: tuple[str, str, str | None] = ("", "", None)  # set by the checker thread

    def set_memo(self) -> None:
        text = self.response.text or ""
        digest = hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()
        cell = self.request.tag.cell  # type: ignore[attr-defined]
        self.memo = (cell.template_hash, digest, self.response.finish_reason)


class Checker:
    """Checks answers off the event loop and writes each SampleResult as it is ready."""

    def __init__(
        self,
        emit: Callable[[Request, Response, Verdict], None],
        settings: Any,
        ruff_select: tuple[str, ...] | None,
        workers: int,
        specs: dict[str, JobSpec],
    ) -> None:
        self._emit = emit
        self._ruff = ruff_select
        self._settings = settings
        self._specs = specs
        self._queue: queue.Queue[_Pending | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self._memo: OrderedDict[tuple[str, str, str | None], Verdict] = OrderedDict()
        self._running: dict[tuple[str, str, str | None], list[_Pending]] = {}
        self._pool: ProcessPoolExecutor | None = None
        self._ruleset: RuleSet | None = None
        if workers > 0:
            # fork while this process has one thread (cheap, shares the imported rules);
            # spawn otherwise.
            single = threading.active_count() == 1
            method = "fork" if single and sys.platform == "linux" else "spawn"
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context(method),
                initializer=_init_worker,
                initargs=(settings, ruff_select, specs),
            )
            # Start the worker now, while the first calls are made, and let it load the report
            # writers and rule docs while it waits: the reports are written there at the end.
            self._pool.submit(_warm_reports)
        else:
            from harness.code.engine import RuleSet

            self._ruleset = RuleSet.build(settings=settings)
        self._error: BaseException | None = None
        self.memo_hits = 0
        self.checked = 0
        self._thread = threading.Thread(target=self._loop, name="harness-checker", daemon=True)
        self._thread.start()

    def submit(self, request: Request, response: Response) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(_Pending(request, response))  # hashed in the thread, off the loop

    def drain(self) -> None:
        """Check everything submitted and stop the thread; the worker stays for `start`."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def start(self, fn: Callable[..., T], *args: Any) -> Callable[[], T]:
        """Start `fn(*args)` in the check worker (its imports are warm); the function returned
        waits for the result. Without a live worker, `fn` runs here when waited for."""
        future: Future[T] | None = None
        if self._pool is not None:
            with contextlib.suppress(BrokenProcessPool, RuntimeError):
                future = self._pool.submit(fn, *args)

        def wait() -> T:
            if future is not None:
                with contextlib.suppress(BrokenProcessPool):
                    return future.result()
            return fn(*args)  # no worker, or it died: do it here

        return wait

    def close(self) -> None:
        try:
            self.drain()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)

    # the thread --------------------------------------------------------------------------

    def _loop(self) -> None:
        inflight: deque[tuple[Future[list[tuple[str, str]]], list[list[_Pending]]]] = deque()
        try:
            done = False
            while not done:
                batch: dict[tuple[str, str, str | None], list[_Pending]] = {}
                started: float | None = None
                while len(batch) < BATCH_SIZE:
                    timeout = (
                        None
                        if started is None
                        else max(0.0, BATCH_WAIT - (time.monotonic() - started))
                    )
                    if inflight and started is None:
                        timeout = 0.05  # keep finished batches flowing out while idle
                    try:
                        item = self._queue.get(timeout=timeout)
                    except queue.Empty:
                        if started is None:
                            self._drain(inflight, keep=len(inflight))
                            continue
                        break
                    if item is None:
                        done = True
                        break
                    item.set_memo()
                    hit = self._memo.get(item.memo)
                    if hit is not None:
                        self._memo.move_to_end(item.memo)
                        self.memo_hits += 1
                        self._emit(item.request, item.response, hit)
                        continue
                    running = self._running.get(item.memo)
                    if running is not None:  # same reply already being checked: join it
                        running.append(item)
                        continue
                    group = batch.setdefault(item.memo, [])
                    group.append(item)
                    if started is None:
                        started = time.monotonic()
                if batch:
                    self._dispatch(list(batch.values()), inflight)
                self._drain(inflight, keep=0 if done else 1)
            self._drain(inflight, keep=0)
        except BaseException as exc:  # surfaced to the caller by submit/close
            self._error = exc
            while True:  # never leave the producer blocked on a full queue
                try:
                    if self._queue.get(timeout=0.1) is None:
                        break
                except queue.Empty:
                    continue

    def _dispatch(
        self,
        groups: list[list[_Pending]],
        inflight: deque[tuple[Future[list[tuple[str, str]]], list[list[_Pending]]]],
    ) -> None:
        jobs = [self._job(g[0]) for g in groups]
        for g in groups:
            self._running[g[0].memo] = g
        if self._pool is not None:
            inflight.append((self._pool.submit(_check_in_worker, jobs), groups))
        else:
            fut: Future[list[tuple[str, str]]] = Future()
            assert self._ruleset is not None
            fut.set_result(check_verdicts(jobs, self._specs, self._ruleset, self._ruff))
            inflight.append((fut, groups))

    def _drain(
        self,
        inflight: deque[tuple[Future[list[tuple[str, str]]], list[list[_Pending]]]],
        *,
        keep: int,
    ) -> None:
        """Emit finished batches; wait until at most `keep` are still running."""
        while inflight and (len(inflight) > keep or inflight[0][0].done()):
            fut, groups = inflight.popleft()
            for group, (status, fragment) in zip(groups, fut.result(), strict=True):
                self.checked += 1
                verdict = Verdict(status, fragment)
                self._running.pop(group[0].memo, None)
                self._memo[group[0].memo] = verdict
                if len(self._memo) > MEMO_SIZE:
                    self._memo.popitem(last=False)
                for item in group:
                    self._emit(item.request, item.response, verdict)

    @staticmethod
    def _job(item: _Pending) -> _Job:
        cell = item.request.tag.cell  # type: ignore[attr-defined]
        return (item.response.text or "", item.response.finish_reason, cell.spec.id)


# --------------------------------------------------------------------------- the run


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def git_commit(directory: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    value = out.stdout.strip()
    return value if out.returncode == 0 and value else None


def _strip_userinfo(url: str | None) -> str | None:
    if not url:
        return url
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=host))
    return url


def config_snapshot(config: HarnessConfig, models: Sequence[ModelConfig]) -> dict[str, Any]:
    """The config as recorded in run.json: no secrets (params cannot hold keys; URLs lose
    their user:password part), the models actually run."""
    data = config.model_dump(mode="json", exclude={"root"})
    data["models"] = [
        {
            "alias": m.alias,
            "model": m.model,
            "api_base": _strip_userinfo(m.api_base),
            "params": dict(m.params),
            "max_concurrency": m.max_concurrency,
            "rpm": m.rpm,
            "samples": m.samples,
        }
        for m in models
    ]
    return data


def run_dir_for(config: HarnessConfig, out: Path | None, run_id: str) -> Path:
    base = out if out is not None else config.path(config.reports_dir)
    return Path(base) / run_id


def _finished_samples(results: Path) -> tuple[set[tuple[str, str, str, int]], int]:
    """Keep only finished (scored or extraction-failed) lines; return their keys."""
    done: set[tuple[str, str, str, int]] = set()
    if not results.exists():
        return done, 0
    tmp = results.with_suffix(".jsonl.tmp")
    kept = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for r in iter_results(results):
            ident = (r.template, r.case, r.model, r.sample)
            if r.status in UNSCORED or ident in done:
                continue
            done.add(ident)
            fh.write(r.model_dump_json() + "\n")
            kept += 1
    tmp.replace(results)
    return done, kept


class _Tally:
    """Counters for the exit code and the console (memory: per model, plus a few errors)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_model: dict[str, dict[str, int]] = {}
        self.errors: list[str] = []
        self.error_total = 0
        self.unrecorded: list[Unrecorded] = []
        self.unrecorded_total = 0
        self.budget_total = 0  # not called: max_cost reached
        self.written = 0

    def add_checked(self, model: str, status: str) -> None:
        counts = self.by_model.setdefault(model, {})
        counts[status] = counts.get(status, 0) + 1
        self.written += 1

    def add(self, r: SampleResult) -> None:
        counts = self.by_model.setdefault(r.model, {})
        counts[r.status] = counts.get(r.status, 0) + 1
        self.written += 1
        where = f"{r.template}/{r.case}/{r.model}#{r.sample}"
        if r.status == "provider-error":
            if r.detail == BUDGET:
                self.budget_total += 1
                return
            self.error_total += 1
            if len(self.errors) < 20:
                self.errors.append(f"{where}: {r.error}")
        elif r.status == "not-recorded":
            self.unrecorded_total += 1
            if len(self.unrecorded) < 50:
                self.unrecorded.append(Unrecorded(r.template, r.case, r.model, r.sample, r.key))


def _usage_fields(resp: Response) -> dict[str, Any]:
    """The `Usage` fields of a response, in `Usage`'s order."""
    return {
        "prompt_tokens": resp.prompt_tokens,
        "completion_tokens": resp.completion_tokens,
        "cost": resp.cost,
        "latency_ms": resp.latency_ms,
        "provider_model": resp.provider_model,
        "cached": resp.cached,
    }


def _usage(resp: Response) -> Usage:
    return Usage(**_usage_fields(resp))


def _line(req: Request, resp: Response, verdict: Verdict) -> str:
    """The results.jsonl line of a checked answer, joined from pre-serialised parts: no
    validation on this (busy) process; the fields are exactly those of `SampleResult`."""
    tag: _Tag = req.tag  # type: ignore[assignment]
    usage = _dumps(_usage_fields(resp))
    return (
        f'{{"schema_version":{SCHEMA_VERSION},{tag.cell.head},"sample":{tag.sample},'
        f'"key":{_dumps(req.key)},"usage":{usage},"reply":{_dumps(resp.text)},'
        f"{verdict.fragment}}}\n"
    )


def _result(req: Request, resp: Response, checked: Checked | None) -> SampleResult:
    tag: _Tag = req.tag  # type: ignore[assignment]
    cell = tag.cell
    common: dict[str, Any] = {
        "template": cell.spec.id,
        "template_hash": cell.template_hash,
        "case": cell.case.name,
        "model": cell.model.alias,
        "model_string": cell.model.model,
        "simulated": cell.model.simulated,
        "sample": tag.sample,
        "key": req.key,
        "prompt": cell.prompt,
        "usage": _usage(resp),
    }
    if checked is None:
        status = "not-recorded" if resp.error_kind == "not-recorded" else "provider-error"
        return SampleResult(**common, status=status, error=resp.error, detail=resp.error_kind)
    return SampleResult(
        **common,
        status=checked.status,  # type: ignore[arg-type]
        score=checked.score,
        passed=checked.passed,
        applicable=checked.applicable,
        weights=checked.weights,
        findings=checked.findings,
        units=checked.units,
        reply=resp.text,
        detail=checked.detail,
    )


def evaluate(
    config: HarnessConfig,
    options: EvalOptions,
    *,
    store: Store | None = None,
    on_start: Callable[[RunMeta, Path], None] | None = None,
) -> EvalOutcome:
    """Run the matrix, write run.json + results.jsonl + every report. Raises HarnessError."""
    return asyncio.run(evaluate_async(config, options, store=store, on_start=on_start))


async def evaluate_async(
    config: HarnessConfig,
    options: EvalOptions,
    *,
    store: Store | None = None,
    on_start: Callable[[RunMeta, Path], None] | None = None,
) -> EvalOutcome:
    from harness.llm.client import Runner
    from harness.llm.store import Store

    sel = options.selection
    resume_meta: RunMeta | None = None
    if options.resume:
        run_dir = Path(options.resume)
        if not (run_dir / "run.json").exists():
            run_dir = run_dir_for(config, options.out, options.resume)
        if not (run_dir / "run.json").exists():
            raise ConfigError(
                f"no run to resume: {run_dir} has no run.json",
                hint="pass the run id printed by `harness evaluate`, or the run directory",
            )
        resume_meta = read_meta(run_dir)
        stored = resume_meta.config.get("selection") or {}
        shard = Shard.parse(resume_meta.shard) if resume_meta.shard else None
        sel = Selection(
            templates=tuple(stored.get("templates") or ()),
            models=tuple(stored.get("models") or ()),
            cases=tuple(stored.get("cases") or ()),
            tags=tuple(stored.get("tags") or ()),
            samples=stored.get("samples"),
        )
        run_id = resume_meta.run_id
    else:
        shard = options.shard
        run_id = options.run_id or new_run_id()
        run_dir = run_dir_for(config, options.out, run_id)
        if (run_dir / "run.json").exists():
            raise ConfigError(
                f"run {run_id!r} already exists in {run_dir.parent}",
                hint=f"continue it with `harness evaluate --resume {run_id}`, or pick another id",
            )

    specs = select_templates(config, sel)
    hashes = {s.id: s.content_hash() for s in specs}  # once: a big template costs to hash
    if resume_meta is not None:
        for spec in specs:
            old = resume_meta.templates.get(spec.id)
            if old is not None and old != hashes[spec.id]:
                raise ConfigError(
                    f"template {spec.id!r} changed since run {run_id} started",
                    path=spec.path,
                    hint="start a new run: results of different template versions do not mix",
                )
    models = resolve_models(config, sel.models)
    use_ruff = options.ruff and config.rules.ruff
    if use_ruff:
        from harness.code.ruff import ruff_command

        ruff_command()  # ToolError now, not mid-run
    ruff_select = tuple(config.rules.ruff_select) if use_ruff else None

    offline_models = frozenset(
        m.alias for m in models if not m.simulated and (options.offline or not _has_key(m))
    )
    cells = plan_cells(config, specs, models, sel, offline_models, hashes)
    planned = sum(
        1
        for c in cells
        for i in range(c.samples)
        if shard is None or shard.owns(c.spec.id, c.case.name, c.model.alias, i)
    )

    results_path = run_dir / "results.jsonl"
    done: set[tuple[str, str, str, int]] = set()
    resumed = 0
    if resume_meta is not None:
        done, resumed = _finished_samples(results_path)

    meta = RunMeta(
        run_id=run_id,
        harness_version=__version__,
        git_commit=git_commit(config.path(config.templates_dir)),
        started_at=resume_meta.started_at if resume_meta else datetime.now(UTC).isoformat(),
        templates=dict(hashes),
        min_scores={s.id: s.min_score for s in specs},
        models=tuple(
            ModelInfo(alias=m.alias, model=m.model, simulated=m.simulated) for m in models
        ),
        samples=sel.samples or config.samples,
        offline=bool(offline_models),
        shard=str(shard) if shard is not None else None,
        config={
            **config_snapshot(config, models),
            "selection": {
                "templates": [s.id for s in specs] if sel.templates else list(sel.templates),
                "models": list(sel.models),
                "cases": list(sel.cases),
                "tags": list(sel.tags),
                "samples": sel.samples,
            },
            "offline_models": sorted(offline_models),
        },
        counts={"planned": planned, "resumed": resumed},
    )
    write_meta(run_dir, meta)
    if on_start is not None:
        on_start(meta, run_dir)

    tally = _Tally()
    results_path.parent.mkdir(parents=True, exist_ok=True)
    lines = results_path.open("a", encoding="utf-8")

    def write(r: SampleResult) -> None:
        with tally.lock:
            lines.write(r.model_dump_json() + "\n")
            lines.flush()
            tally.add(r)

    def emit(req: Request, resp: Response, verdict: Verdict) -> None:
        line = _line(req, resp, verdict)
        with tally.lock:
            lines.write(line)
            lines.flush()
            tally.add_checked(req.tag.cell.model.alias, verdict.status)  # type: ignore[attr-defined]

    todo = planned - resumed
    workers = options.workers
    if workers is None:
        workers = 1 if (os.cpu_count() or 1) >= 2 and todo >= POOL_THRESHOLD else 0
    job_specs = {
        s.id: JobSpec(
            role=Role(s.expect.role) if s.expect.role else Role.OTHER,
            expect=s.expect,
            min_score=s.min_score,
            path=f"{s.id}.py",
        )
        for s in specs
    }
    # before any thread starts
    checker = Checker(emit, config.rules, ruff_select, workers, job_specs)
    own_store = store is None
    if store is None:
        store_path = config.path(config.store)
        store_path.parent.mkdir(parents=True, exist_ok=True)
        store = Store(store_path)
    from harness.llm.client import NOT_RECORDED, Response

    def requests() -> Iterator[Request]:
        for cell in cells:
            for sample in range(cell.samples):
                if (cell.spec.id, cell.case.name, cell.model.alias, sample) in done:
                    continue
                if shard is not None and not shard.owns(
                    cell.spec.id, cell.case.name, cell.model.alias, sample
                ):
                    continue
                req = make_request(cell, sample)
                if cell.offline and (options.no_cache or req.key not in store):
                    miss = Response.failed(
                        req.key, NOT_RECORDED, "offline: no recorded response in the store"
                    )
                    write(_result(req, miss, None))
                    continue
                yield req

    def on_result(req: Request, resp: Response) -> None:
        if resp.ok:
            checker.submit(req, resp)
        else:
            write(_result(req, resp, None))

    runner = Runner(
        config,
        store,
        offline=options.offline,
        no_cache=options.no_cache,
        max_cost=options.max_cost,
        progress=options.progress,
    )
    stats: RunStats | None = None
    interrupted = False
    finished = False  # the run ended normally: the check worker stays to write the reports
    try:
        stats = await runner.run(requests(), on_result, total=todo)
        interrupted = stats.interrupted
        finished = not interrupted
    except (KeyboardInterrupt, asyncio.CancelledError):
        interrupted = True
    finally:
        try:
            await asyncio.to_thread(checker.drain if finished else checker.close)
        except BaseException:
            checker.close()
            raise
        finally:
            lines.close()
            if own_store:
                store.close()

    counts = {
        "planned": planned,
        "resumed": resumed,
        "written": tally.written,
        "cached": stats.cached if stats else 0,
        "called": stats.done if stats else 0,
        "errors": tally.error_total,
        "not_recorded": tally.unrecorded_total,
        "budget_skipped": tally.budget_total,
        "checked": checker.checked,
        "memo_hits": checker.memo_hits,
    }
    if interrupted:
        meta = meta.model_copy(update={"counts": {**counts, "interrupted": 1}})
        write_meta(run_dir, meta)
        return EvalOutcome(
            run_dir,
            meta,
            None,
            {},
            130,
            planned,
            resumed,
            tuple(tally.unrecorded),
            tally.unrecorded_total,
            tuple(tally.errors),
            tally.error_total,
            (),
            True,
            stats,
            tally.budget_total,
        )

    try:
        from harness.report import REPORT_FILES
        from harness.scoring import aggregate

        summary = aggregate(iter_results(results_path), meta.min_scores)
        counts.update(summary.status_counts)
        meta = meta.model_copy(
            update={"finished_at": datetime.now(UTC).isoformat(), "counts": counts}
        )
        write_meta(run_dir, meta)
        # The reports that carry rule docs are written by the check worker, where the rule
        # registry is loaded, while this process writes the others.
        heavy = _write_reports, run_dir, meta, summary, results_path, ("markdown", "sarif", "html")
        wait = checker.start(*heavy)
        reports = _write_reports(run_dir, meta, summary, results_path, ("json", "junit"))
        reports.update(await asyncio.to_thread(wait))
        reports = {k: reports[k] for k in REPORT_FILES if k in reports}
    finally:
        checker.close()

    failed = tuple(
        m.alias
        for m in models
        if (stat := summary.model(m.alias)) is not None and stat.n > 0 and stat.n_scored == 0
    )
    return EvalOutcome(
        run_dir=run_dir,
        meta=meta,
        summary=summary,
        reports=reports,
        exit_code=3 if failed else 0,
        planned=planned,
        resumed=resumed,
        unrecorded=tuple(tally.unrecorded),
        unrecorded_total=tally.unrecorded_total,
        errors=tuple(tally.errors),
        error_total=tally.error_total,
        failed_models=failed,
        interrupted=False,
        stats=stats,
        budget_skipped=tally.budget_total,
    )


def build_reports(
    run_dir: Path, meta: RunMeta | None = None, *, formats: tuple[str, ...] | None = None
) -> tuple[RunSummary, dict[str, Path]]:
    """Aggregate results.jsonl (streamed) and write the reports. No model calls."""
    from harness.report import write_reports
    from harness.scoring import aggregate

    meta = meta or read_meta(run_dir)
    results = run_dir / "results.jsonl"
    if not results.exists():
        results.touch()
    summary = aggregate(iter_results(results), meta.min_scores)
    reports = write_reports(run_dir, meta, summary, results, formats=formats)
    return summary, reports


def resume_command(run_id: str, extra: Sequence[str] = ()) -> str:
    return shlex.join(["harness", "evaluate", "--resume", run_id, *extra])


__all__ = [
    "Checked",
    "Checker",
    "EvalOptions",
    "EvalOutcome",
    "Selection",
    "Unrecorded",
    "build_reports",
    "check_batch",
    "evaluate",
    "evaluate_async",
    "resolve_models",
    "resume_command",
    "select_templates",
]
