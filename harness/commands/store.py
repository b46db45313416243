"""`harness store`: stats, export and import of the response store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from harness.config import HarnessConfig, load_config

if TYPE_CHECKING:
    from harness.llm.store import Store


def _open(ctx: click.Context, *, writing: bool = False) -> tuple[HarnessConfig, Store]:
    """The store; reading a store that does not exist is an error (a typo would otherwise
    create an empty one), writing creates it."""
    from harness.errors import StoreError
    from harness.llm.store import Store

    obj = ctx.obj
    config = load_config(obj["config"])
    path = Path(obj["store"]) if obj["store"] else config.path(config.store)
    if not writing and not path.is_file():
        raise StoreError(
            "no response store here", path=str(path), hint="check --store or `store:` in the config"
        )
    return config, Store(path)


@click.group("store")
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Store file (default: `store` from the config).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Config file (default: search upwards from here).",
)
@click.pass_context
def command(ctx: click.Context, store_path: str | None, config_path: str | None) -> None:
    """Response store: stats, export, import."""
    ctx.obj = {"store": store_path, "config": Path(config_path) if config_path else None}


@command.command("stats")
@click.pass_context
def stats_cmd(ctx: click.Context) -> None:
    """Rows, rows per model, size and recorded cost."""
    _, store = _open(ctx)
    with store:
        s = store.stats()
    click.echo(f"store: {s.path}")
    click.echo(
        f"responses: {s.rows}  errors remembered: {s.errors}  size: {s.size_bytes / 1024:.1f} KiB"
        f"  cost: {s.cost:.4f}"
    )
    for m in s.models:
        click.echo(
            f"  {m.model}: {m.rows} responses, {m.prompt_tokens}+{m.completion_tokens} tokens,"
            f" cost {m.cost:.4f}"
        )


@command.command("export")
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Only this model (alias from the config or litellm model string). Repeatable.",
)
@click.option(
    "--keys-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Only the request keys listed in this file, one per line.",
)
@click.argument("out", type=click.Path(dir_okay=False))
@click.pass_context
def export_cmd(
    ctx: click.Context, models: tuple[str, ...], keys_file: str | None, out: str
) -> None:
    """Write stored responses to OUT as JSONL (sorted, stable: fit for golden recordings)."""
    config, store = _open(ctx)
    known = {m.alias: m.model for m in config.models}
    wanted = tuple(known.get(m, m) for m in models)
    keys = None
    if keys_file:
        keys = {ln.strip() for ln in Path(keys_file).read_text().splitlines() if ln.strip()}
    with store:
        n = store.export(out, keys=keys, models=wanted)
    click.echo(f"exported {n} responses to {out}")


@command.command("import")
@click.argument("src", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def import_cmd(ctx: click.Context, src: str) -> None:
    """Load responses from a JSONL export (rows already stored are kept)."""
    _, store = _open(ctx, writing=True)
    with store:
        added, skipped = store.import_(src)
    click.echo(f"imported {added} responses from {src} ({skipped} already stored)")
