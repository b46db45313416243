"""`harness runs`: list the stored runs; `--prune KEEP` deletes all but the newest KEEP."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("runs")
@click.option("--prune", "keep", type=click.IntRange(min=1), help="Keep the newest KEEP runs.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="harness.yaml")
def command(keep: int | None, fmt: str, config_path: Path | None) -> None:
    """List runs under reports_dir, newest first: id, date, models, templates, mean score.

    Exit status: 0, or 2 on a config error.
    """
    from harness.config import load_config
    from harness.runs import latest, list_runs, prune

    config = load_config(config_path)
    reports = config.path(config.reports_dir)
    if keep is not None:
        for run in prune(reports, keep):
            click.echo(f"deleted {run.run_id}")
    runs = list_runs(reports)
    current = latest(reports)
    if fmt == "json":
        rows = [
            {
                "run_id": r.run_id,
                "started_at": r.started_at,
                "finished": r.finished,
                "models": list(r.models),
                "templates": list(r.templates),
                "mean_score": r.mean_score,
                "latest": current is not None and r.path.resolve() == current.resolve(),
            }
            for r in runs
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    if not runs:
        click.echo(f"no runs under {reports}")
        return
    for r in runs:
        mark = "*" if current is not None and r.path.resolve() == current.resolve() else " "
        score = "  \u2013  " if r.mean_score is None else f"{r.mean_score:5.1f}"
        state = "" if r.finished else " (unfinished)"
        click.echo(
            f"{mark} {r.run_id}  {r.started_at[:19]}  {score}  "
            f"models: {', '.join(r.models)}  templates: {len(r.templates)}{state}"
        )
