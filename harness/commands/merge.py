"""`harness merge RUN...`: merge shard runs and write every report."""

from __future__ import annotations

from pathlib import Path

import click

from harness.config import load_config


@click.command("merge")
@click.argument(
    "runs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False, exists=True)
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Reports directory (default: reports_dir from config).",
)
@click.option("--run-id", default=None, help="Id of the merged run.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False))
def command(
    runs: tuple[Path, ...], out: Path | None, run_id: str | None, config_path: Path | None
) -> None:
    """Merge `harness evaluate --shard i/N` runs into one run with every report."""
    from harness.merge import merge_runs
    from harness.record import iter_results
    from harness.report import write_reports
    from harness.runmeta import new_run_id
    from harness.scoring import aggregate

    config = load_config(config_path)
    rid = run_id or new_run_id()
    run_dir = (out or config.path(config.reports_dir)) / rid
    meta = merge_runs(list(runs), run_dir, rid)
    summary = aggregate(iter_results(run_dir / "results.jsonl"), meta.min_scores)
    reports = write_reports(run_dir, meta, summary, run_dir / "results.jsonl")
    n = sum(meta.counts.values())
    click.echo(f"merged {len(runs)} run(s), {n} samples: {run_dir}")
    if "html" in reports:
        click.echo(f"Report: {reports['html']}")
