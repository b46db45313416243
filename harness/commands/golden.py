"""`harness golden update`: bless a run as the golden baseline."""

from __future__ import annotations

from pathlib import Path

import click

from harness.config import load_config


@click.group("golden")
def command() -> None:
    """Golden baselines in golden/ (one file per template, plus recorded responses)."""


@command.command("update")
@click.option(
    "--run",
    "run_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Bless this stored run instead of evaluating now.",
)
@click.option("--templates", default="", help="Comma-separated template ids (default: all).")
@click.option("--models", default="", help="Comma-separated model aliases (default: all).")
@click.option("--offline", is_flag=True, help="Answer only from the store (simulated models run).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False))
def update(
    run_dir: Path | None, templates: str, models: str, offline: bool, config_path: Path | None
) -> None:
    """Evaluate (or take --run) and write golden/<template>.json + recordings."""
    from harness.errors import ConfigError
    from harness.evaluate import EvalOptions, evaluate
    from harness.golden import build_baselines, recordings_path, write_baseline
    from harness.llm.store import Store
    from harness.plan import Selection
    from harness.record import iter_results, read_meta
    from harness.scoring import aggregate

    config = load_config(config_path)
    wanted = tuple(t for t in templates.split(",") if t)
    store = Store(config.path(config.store))
    summary = None
    try:
        if run_dir is None:
            outcome = evaluate(
                config,
                EvalOptions(
                    selection=Selection(
                        templates=wanted, models=tuple(m for m in models.split(",") if m)
                    ),
                    offline=offline,
                ),
                store=store,
            )
            if outcome.summary is None:
                raise click.exceptions.Exit(130)
            run_dir, summary = outcome.run_dir, outcome.summary
        if not (run_dir / "run.json").exists():
            raise ConfigError("not a run directory (no run.json)", path=str(run_dir))
        meta = read_meta(run_dir)
        results = run_dir / "results.jsonl"
        if summary is None:  # a stored run: aggregate it here
            summary = aggregate(iter_results(results), meta.min_scores)
        errors = [c for c in summary.cells if c.errors and (not wanted or c.template in wanted)]
        if errors:
            cell = errors[0]
            raise ConfigError(
                f"{cell.template}/{cell.model} has {cell.errors} provider error(s) or "
                "unrecorded requests; refusing to bless an incomplete run",
                hint="re-run until every request has an answer",
            )
        golden_dir = config.path(config.golden_dir)
        baselines = build_baselines(
            summary,
            template_hashes=meta.templates,
            min_scores=meta.min_scores,
            model_strings={m.alias: m.model for m in meta.models},
            samples=meta.samples,
            templates=wanted or None,
        )
        keys: dict[str, set[str]] = {}
        for r in iter_results(results):
            keys.setdefault(r.template, set()).add(r.key)
        for base in baselines:
            path = write_baseline(golden_dir, base)
            n = store.export(recordings_path(golden_dir, base.template), keys=keys[base.template])
            click.echo(
                f"blessed {base.template}: {path} ({len(base.models)} models, {n} recordings)"
            )
    finally:
        store.close()
