"""`harness report RUN_DIR`: rebuild every report of a stored run, with no model calls."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

FORMATS = ("json", "markdown", "junit", "sarif", "html")


def _rel(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


@click.command("report")
@click.argument("run_dir", required=False, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(["all", *FORMATS]),
    help="Reports to write (repeatable). Default: all.",
)
@click.option(
    "--print",
    "show",
    type=click.Choice(["table", "json", "none"]),
    default="table",
    show_default=True,
    help="What to print after writing: the tables, the summary JSON, or nothing.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def command(run_dir: Path | None, formats: tuple[str, ...], show: str, quiet: bool) -> None:
    """Re-aggregate RUN_DIR/results.jsonl and rewrite its reports from run.json. RUN_DIR is a
    run directory or id; default: the latest run."""
    from harness.report import build_reports

    if run_dir is None or not (run_dir / "run.json").is_file():
        from harness.config import load_config
        from harness.runs import resolve_run

        config = load_config()
        run_dir = resolve_run(config.path(config.reports_dir), run_dir)
    wanted = None if not formats or "all" in formats else tuple(dict.fromkeys(formats))
    summary, written = build_reports(run_dir, formats=wanted)
    if quiet:
        return
    if show == "json":
        click.echo(summary.to_json())
    elif show == "table":
        from rich.console import Console

        from harness.report.terminal import print_table

        print_table(summary, Console(file=sys.stdout))
    for key, path in written.items():
        click.echo(f"{key}: {_rel(path)}", err=show != "table")
    if "html" in written and show == "table":
        click.echo(f"Report: {_rel(written['html'])}")
