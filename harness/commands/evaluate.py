"""`harness evaluate`: run templates x cases x models x samples, check, score and report."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from harness.evaluate import EvalOutcome


def _csv(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))


def _rel(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _print_problems(outcome: EvalOutcome, resume_extra: Sequence[str] = ()) -> None:
    from harness.runmeta import resume_command

    if outcome.error_total:
        click.echo(
            f"{outcome.error_total} request(s) failed at the provider (recorded, not scored):",
            err=True,
        )
        for line in outcome.errors:
            click.echo(f"  {line}", err=True)
        if outcome.error_total > len(outcome.errors):
            click.echo(f"  ... and {outcome.error_total - len(outcome.errors)} more", err=True)
    if outcome.unrecorded_total:
        click.echo(
            f"{outcome.unrecorded_total} request(s) have no recorded response "
            "(offline: answered from the store only):",
            err=True,
        )
        for u in outcome.unrecorded:
            click.echo(f"  {u.template}/{u.case}/{u.model}#{u.sample}  key {u.key[:16]}", err=True)
        if outcome.unrecorded_total > len(outcome.unrecorded):
            more = outcome.unrecorded_total - len(outcome.unrecorded)
            click.echo(f"  ... and {more} more", err=True)
        click.echo(
            "  hint: set the provider's API key (e.g. OPENAI_API_KEY) and run without "
            "--offline to record them, or import recordings with `harness store import`",
            err=True,
        )
    if outcome.budget_skipped:
        click.echo(
            f"{outcome.budget_skipped} sample(s) not called: max_cost reached "
            "(recorded as budget errors, not scored)",
            err=True,
        )
        click.echo(
            "  hint: raise --max-cost and continue with "
            f"`{resume_command(outcome.meta.run_id, resume_extra)} --max-cost <USD>`",
            err=True,
        )
    for alias in outcome.failed_models:
        click.echo(f"model {alias!r}: no sample got a result", err=True)


@click.command("evaluate")
@click.option("--templates", "templates", help="Template ids to run (comma list). Default: all.")
@click.option(
    "--models",
    "models",
    help="Model aliases from the config, or litellm model strings such as openai/gpt-4o "
    "(comma list). Default: every configured model.",
)
@click.option("--cases", "cases", help="Case names to run (comma list). Default: all.")
@click.option("--samples", type=click.IntRange(min=1), help="Samples per case (overrides config).")
@click.option("--tag", "tags", multiple=True, help="Only templates with this tag (repeatable).")
@click.option("--offline", is_flag=True, help="Answer from the response store only.")
@click.option("--no-cache", is_flag=True, help="Call the models even for stored answers.")
@click.option(
    "--retry-errors",
    is_flag=True,
    help="Call again for requests whose last call failed (default: report the remembered error).",
)
@click.option("--max-cost", type=click.FloatRange(min=0, min_open=True), help="Budget in USD.")
@click.option("--resume", "resume", metavar="RUN_ID", help="Continue an interrupted run.")
@click.option("--run-id", "run_id", help="Name the run (default: timestamp + random suffix).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Reports directory (default: reports_dir of the config).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: harness.yaml found upwards from the current directory).",
)
@click.option("--no-ruff", is_flag=True, help="Do not run ruff on the generated code.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: rich tables; json: the run summary as JSON on stdout.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a TTY).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the report path (and problems).")
@click.option("-v", "--verbose", is_flag=True, help="Also print the top violations of each model.")
@click.option(
    "--shard",
    metavar="I/N",
    help="Run only slice I of N (deterministic); combine the slices with `harness merge`.",
)
def command(
    templates: str | None,
    models: str | None,
    cases: str | None,
    samples: int | None,
    tags: tuple[str, ...],
    offline: bool,
    no_cache: bool,
    retry_errors: bool,
    max_cost: float | None,
    resume: str | None,
    run_id: str | None,
    out: Path | None,
    config_path: Path | None,
    no_ruff: bool,
    fmt: str,
    progress: bool | None,
    quiet: bool,
    verbose: bool,
    shard: str | None,
) -> None:
    """Run templates x cases x models x samples, check the code, score it and write reports.

    Sim models (sim/careful, sim/sloppy, sim/chatty) run offline with no key. Models without
    an API key in the environment answer from the response store only.
    """
    from harness.config import load_config
    from harness.evaluate import EvalOptions, evaluate
    from harness.plan import Selection
    from harness.runmeta import resume_command
    from harness.shard import Shard

    config = load_config(config_path)
    if resume and (templates or models or cases or samples or tags or run_id):
        click.echo(
            "note: --resume continues the run's own selection; "
            "--templates/--models/--cases/--samples/--tag/--run-id are ignored",
            err=True,
        )
    options = EvalOptions(
        selection=Selection(
            templates=_csv(templates),
            models=_csv(models),
            cases=_csv(cases),
            tags=tuple(t for tag in tags for t in _csv(tag)),
            samples=samples,
        ),
        offline=offline,
        no_cache=no_cache,
        retry_errors=retry_errors,
        max_cost=max_cost,
        resume=resume,
        run_id=run_id,
        out=out,
        ruff=not no_ruff,
        progress=progress,
        shard=Shard.parse(shard) if shard else None,
    )
    extra: list[str] = []
    if config_path is not None:
        extra += ["--config", str(config_path)]
    if out is not None:
        extra += ["--out", str(out)]

    def started(meta: object, run_dir: Path) -> None:
        if fmt == "table":
            click.echo(f"Run {run_dir.name}: {_rel(run_dir)}", err=True)

    try:
        outcome = evaluate(config, options, on_start=started)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        raise click.exceptions.Exit(130) from None
    if outcome.interrupted:
        _print_problems(outcome, extra)
        click.echo(
            f"interrupted: finished samples are saved. Continue with:\n"
            f"  {resume_command(outcome.meta.run_id, extra)}",
            err=True,
        )
        raise click.exceptions.Exit(130)
    _print_problems(outcome, extra)
    summary = outcome.summary
    assert summary is not None
    if fmt == "json":
        doc = {
            "run_id": outcome.meta.run_id,
            "run_dir": str(outcome.run_dir),
            "exit_code": outcome.exit_code,
            "reports": {k: str(v) for k, v in outcome.reports.items()},
            "counts": outcome.meta.counts,
            "summary": summary.to_dict(),
        }
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
    else:
        from rich.console import Console

        from harness.report.terminal import print_table

        if not quiet:
            print_table(summary, Console(file=sys.stdout), top=5 if verbose else 3)
        report = outcome.reports.get("html") or outcome.run_dir
        click.echo(f"Report: {_rel(report)}")
    if outcome.exit_code:
        raise click.exceptions.Exit(outcome.exit_code)
