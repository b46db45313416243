"""`harness check`: the pre-merge regression gate."""

from __future__ import annotations

from pathlib import Path

import click

from harness.config import load_config


@click.command("check")
@click.option("--templates", default="", help="Comma-separated template ids (default: all).")
@click.option("--models", default="", help="Comma-separated model aliases (default: all).")
@click.option("--offline", is_flag=True, help="Never call paid providers; replay and simulate.")
@click.option(
    "--comment-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a Markdown PR comment here.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Reports directory for the check run.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the verdict line.")
@click.option("-v", "--verbose", is_flag=True, help="Also list the cells that did not move.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def command(
    ctx: click.Context,
    templates: str,
    models: str,
    offline: bool,
    comment_file: Path | None,
    out: Path | None,
    fmt: str,
    quiet: bool,
    verbose: bool,
    config_path: Path | None,
) -> None:
    """Compare templates with golden/. Exit 0 pass, 1 regression, 2 usage, 3 no verdict."""
    from harness.gate import render_json, render_markdown, render_text, run_check

    config = load_config(config_path)
    outcome = run_check(
        config,
        templates=[t for t in templates.split(",") if t],
        models=[m for m in models.split(",") if m],
        offline=offline,
        out=out,
    )
    if fmt == "json":
        click.echo(render_json(outcome))
    elif quiet:
        click.echo(render_text(outcome).splitlines()[-1])
    else:
        if verbose:
            for cell in outcome.gate.cells:
                if cell.status == "compared" and not cell.changes:
                    click.echo(f"{cell.template}/{cell.model}: unchanged")
        click.echo(render_text(outcome), nl=False)
    if comment_file is not None:
        comment_file.parent.mkdir(parents=True, exist_ok=True)
        comment_file.write_text(render_markdown(outcome), encoding="utf-8")
        click.echo(f"comment: {comment_file}")
    ctx.exit(outcome.gate.exit_code)
