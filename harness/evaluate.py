"""`harness evaluate`: the run, in order. Plan the cells (`plan`), record the run (`runmeta`),
answer requests (`llm.client.Runner`, store first), check answers off the loop (`checker`,
`check`), append each SampleResult to results.jsonl as it is ready, then aggregate by
streaming that file (`scoring`) and write the reports (`report`).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.check import Checked, JobSpec, Verdict, spec_key
from harness.checker import Checker
from harness.code.ruff import ruff_command
from harness.code.unit import Role
from harness.config import HarnessConfig
from harness.errors import ConfigError
from harness.llm.client import Runner
from harness.llm.store import Store
from harness.llm.types import BUDGET, NOT_RECORDED, Request, Response, RunStats
from harness.plan import (
    Selection,
    Tag,
    count_planned,
    has_key,
    make_request,
    owned,
    plan_cells,
    resolve_models,
    select_templates,
)
from harness.record import (
    UNSCORED,
    RunMeta,
    SampleResult,
    Usage,
    encode_fields,
    iter_results,
    read_meta,
    sample_line,
    write_meta,
)
from harness.report import REPORT_FILES, write_reports
from harness.runmeta import build_meta, new_run_id, run_dir_for
from harness.runs import set_latest
from harness.sample import RUFF_RULE, Profile, house_profile
from harness.scoring import RunSummary, aggregate
from harness.shard import Shard
from harness.templates.render import render_provides
from harness.templates.spec import TemplateSpec


@dataclass(frozen=True)
class EvalOptions:
    selection: Selection = field(default_factory=Selection)
    offline: bool = False
    no_cache: bool = False
    retry_errors: bool = False  # call again for keys whose last call failed
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
    """The results.jsonl line of a checked answer, from fields encoded ahead of time: equal to
    `_result(...).model_dump_json()`, without building the model on this busy process."""
    tag: Tag = req.tag  # type: ignore[assignment]
    own = encode_fields(sample=tag.sample, key=req.key, usage=_usage_fields(resp), reply=resp.text)
    return sample_line(tag.cell.head, own, verdict.fields) + "\n"


def _result(req: Request, resp: Response, checked: Checked | None) -> SampleResult:
    tag: Tag = req.tag  # type: ignore[assignment]
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
    return SampleResult(**common, **checked.fields(), reply=resp.text)


def evaluate(
    config: HarnessConfig,
    options: EvalOptions,
    *,
    store: Store | None = None,
    on_start: Callable[[RunMeta, Path], None] | None = None,
) -> EvalOutcome:
    """Run the matrix, write run.json + results.jsonl + every report. Raises HarnessError."""
    return asyncio.run(evaluate_async(config, options, store=store, on_start=on_start))


@dataclass(frozen=True, slots=True)
class _Opened:
    """Where a run writes and what it runs: a new run, or the one being resumed."""

    run_id: str
    run_dir: Path
    selection: Selection
    shard: Shard | None
    resumed_from: RunMeta | None


def _open_run(config: HarnessConfig, options: EvalOptions) -> _Opened:
    if not options.resume:
        run_id = options.run_id or new_run_id()
        run_dir = run_dir_for(config, options.out, run_id)
        if (run_dir / "run.json").exists():
            raise ConfigError(
                f"run {run_id!r} already exists in {run_dir.parent}",
                hint=f"continue it with `harness evaluate --resume {run_id}`, or pick another id",
            )
        return _Opened(run_id, run_dir, options.selection, options.shard, None)
    run_dir = Path(options.resume)
    if not (run_dir / "run.json").exists():
        run_dir = run_dir_for(config, options.out, options.resume)
    if not (run_dir / "run.json").exists():
        raise ConfigError(
            f"no run to resume: {run_dir} has no run.json",
            hint="pass the run id printed by `harness evaluate`, or the run directory",
        )
    old = read_meta(run_dir)
    stored = old.config.get("selection") or {}
    sel = Selection(
        templates=tuple(stored.get("templates") or ()),  # type: ignore[union-attr]
        models=tuple(stored.get("models") or ()),  # type: ignore[union-attr]
        cases=tuple(stored.get("cases") or ()),  # type: ignore[union-attr]
        tags=tuple(stored.get("tags") or ()),  # type: ignore[union-attr]
        samples=stored.get("samples"),  # type: ignore[union-attr]
    )
    shard = Shard.parse(old.shard) if old.shard else None
    return _Opened(old.run_id, run_dir, sel, shard, old)


def _check_unchanged(
    opened: _Opened, specs: Sequence[TemplateSpec], hashes: dict[str, str]
) -> None:
    if opened.resumed_from is None:
        return
    for spec in specs:
        old = opened.resumed_from.templates.get(spec.id)
        if old is not None and old != hashes[spec.id]:
            raise ConfigError(
                f"template {spec.id!r} changed since run {opened.run_id} started",
                path=spec.path,
                hint="start a new run: results of different template versions do not mix",
            )


def _job_specs(specs: Sequence[TemplateSpec], profile: Profile) -> dict[str, JobSpec]:
    """One `JobSpec` per template and case: the case's `provides` rendered once."""
    return {
        spec_key(s.id, case.name): JobSpec(
            role=Role(s.expect.role) if s.expect.role else Role.OTHER,
            expect=s.expect,
            min_score=s.min_score,
            path=f"{s.id}.py",
            profile=profile,
            provides=render_provides(s, case),
        )
        for s in specs
        for case in s.cases
    }


def run_profile(config: HarnessConfig) -> Profile:
    """The house profile of `harness.yaml`: every built-in code rule, TSK001 and `ruff` at
    weight 1 unless `profile.rules` says otherwise. Unknown codes are a config error."""
    from harness.registry import all_rules

    codes = [c for c in all_rules() if not c.startswith("TPL")] + [RUFF_RULE]
    named = [*(config.profile.rules or {}), *config.profile.blocking]
    unknown = sorted({c for c in named if c not in codes})
    if unknown:
        raise ConfigError(
            f"profile: unknown rule code(s): {', '.join(unknown)}",
            hint="see `harness rules` for the codes",
        )
    profile = config.profile
    return house_profile(codes, profile.rules, profile.blocking, only=profile.only)


async def evaluate_async(
    config: HarnessConfig,
    options: EvalOptions,
    *,
    store: Store | None = None,
    on_start: Callable[[RunMeta, Path], None] | None = None,
) -> EvalOutcome:
    opened = _open_run(config, options)
    sel, shard, run_dir = opened.selection, opened.shard, opened.run_dir
    specs = select_templates(config, sel)
    hashes = {s.id: s.content_hash() for s in specs}  # once: a big template costs to hash
    _check_unchanged(opened, specs, hashes)
    models = resolve_models(config, sel.models)
    use_ruff = options.ruff and config.rules.ruff
    if use_ruff:
        ruff_command()  # ToolError now, not mid-run
    ruff_select = tuple(config.rules.ruff_select) if use_ruff else None

    offline_models = frozenset(
        m.alias for m in models if not m.simulated and (options.offline or not has_key(m))
    )
    cells = plan_cells(config, specs, models, sel, offline_models, hashes)
    planned = count_planned(cells, shard)
    results_path = run_dir / "results.jsonl"
    done: set[tuple[str, str, str, int]] = set()
    resumed = 0
    if opened.resumed_from is not None:
        done, resumed = _finished_samples(results_path)

    meta = build_meta(
        config,
        opened.run_id,
        specs,
        hashes,
        models,
        sel,
        shard,
        offline_models,
        started_at=opened.resumed_from.started_at if opened.resumed_from else None,
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
    # A supervised worker process checks the replies: a reply that crashes the checker costs
    # its own sample, never the run. `workers=0` checks in a thread (tests).
    workers = 1 if options.workers is None else options.workers
    # before any thread starts
    checker = Checker(
        emit, config.rules, ruff_select, workers, _job_specs(specs, run_profile(config))
    )
    own_store = store is None
    if store is None:
        store_path = config.path(config.store)
        store_path.parent.mkdir(parents=True, exist_ok=True)
        store = Store(store_path)

    def requests() -> Iterator[Request]:
        for cell in cells:
            for sample in range(cell.samples):
                if (cell.spec.id, cell.case.name, cell.model.alias, sample) in done:
                    continue
                if not owned(cell, sample, shard):
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
        retry_errors=options.retry_errors,
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
    outcome = functools.partial(
        EvalOutcome,
        planned=planned,
        resumed=resumed,
        unrecorded=tuple(tally.unrecorded),
        unrecorded_total=tally.unrecorded_total,
        errors=tuple(tally.errors),
        error_total=tally.error_total,
        stats=stats,
        budget_skipped=tally.budget_total,
    )
    if interrupted:
        meta = meta.model_copy(update={"counts": {**counts, "interrupted": 1}})
        write_meta(run_dir, meta)
        return outcome(
            run_dir=run_dir,
            meta=meta,
            summary=None,
            reports={},
            exit_code=130,
            failed_models=(),
            interrupted=True,
        )

    try:
        summary = aggregate(iter_results(results_path), meta.min_scores)
        counts.update(summary.status_counts)
        meta = meta.model_copy(
            update={"finished_at": datetime.now(UTC).isoformat(), "counts": counts}
        )
        write_meta(run_dir, meta)
        # The reports that carry rule docs are written in the warm check worker (see
        # `harness.checker`) while this process writes the others.
        heavy = functools.partial(write_reports, formats=("markdown", "sarif", "html"))
        wait = checker.start(heavy, run_dir, meta, summary, results_path)
        reports = write_reports(run_dir, meta, summary, results_path, formats=("json", "junit"))
        reports.update(await asyncio.to_thread(wait))
        reports = {k: reports[k] for k in REPORT_FILES if k in reports}
        set_latest(run_dir.parent, run_dir)
    finally:
        checker.close()

    failed = tuple(
        m.alias
        for m in models
        if (stat := summary.model(m.alias)) is not None and stat.n > 0 and stat.n_scored == 0
    )
    return outcome(
        run_dir=run_dir,
        meta=meta,
        summary=summary,
        reports=reports,
        exit_code=3 if failed else 0,
        failed_models=failed,
        interrupted=False,
    )


__all__ = [
    "EvalOptions",
    "EvalOutcome",
    "Unrecorded",
    "evaluate",
    "evaluate_async",
]
