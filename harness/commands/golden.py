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
@click.option("--force", is_flag=True, help="Bless even a run with lint errors or regressions.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def update(
    ctx: click.Context,
    run_dir: Path | None,
    templates: str,
    models: str,
    offline: bool,
    force: bool,
    config_path: Path | None,
) -> None:
    """Evaluate (or take --run) and write golden/<template>.json + recordings.

    Prints what changes from the current baseline (per template, model and rule), and
    refuses a run whose templates have lint errors, or that regresses against the current
    baseline, unless --force. Exit status: 0 blessed, 1 refused, 2 usage or config error.
    """
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
        refusals = _lint_errors(config, meta.templates, wanted) + _changes(
            config, golden_dir, summary, {m.alias: m.model for m in meta.models}, wanted
        )
        if refusals and not force:
            click.echo(
                "refusing to bless: " + "; ".join(refusals) + " (use --force to bless anyway)",
                err=True,
            )
            ctx.exit(1)
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


def _lint_errors(config: object, templates: dict[str, str], wanted: tuple[str, ...]) -> list[str]:
    """Error-level lint findings of the templates the run blessed."""
    from harness.findings import Severity
    from harness.templates.lint.base import LintSettings
    from harness.templates.lint.engine import lint_spec, template_rules
    from harness.templates.loader import load_templates

    result = load_templates([config.path(config.templates_dir)])  # type: ignore[attr-defined]
    rules = template_rules([], list(config.lint.ignore))  # type: ignore[attr-defined]
    out = []
    for spec in result.specs:
        if spec.id not in templates or (wanted and spec.id not in wanted):
            continue
        errors = [f for f in lint_spec(spec, rules, LintSettings()) if f.severity is Severity.ERROR]
        if errors:
            out.append(f"{spec.id} has {len(errors)} lint error(s) ({errors[0].code})")
    return out


def _changes(
    config: object,
    golden_dir: Path,
    summary: object,
    model_strings: dict[str, str],
    wanted: tuple[str, ...],
) -> list[str]:
    """Print the difference from the current baseline; the regressions, as refusal reasons."""
    from harness.golden import cells_of, read_baselines
    from harness.regress import Kind, compare

    current = read_baselines(golden_dir)
    cells = {
        t: models
        for t, models in cells_of(summary, model_strings).items()  # type: ignore[arg-type]
        if not wanted or t in wanted
    }
    verdicts = compare(current, cells, config.gate)  # type: ignore[attr-defined]
    regressions = []
    for v in verdicts:
        if v.status != "compared":
            click.echo(f"{v.template}/{v.model}: {v.status}")
            continue
        for c in v.changes:
            click.echo(
                f"{c.template}/{c.model} {c.metric}: {c.baseline:.0%} -> {c.current:.0%}"
                f" ({c.kind.value}: {c.reason})"
            )
            if c.kind is Kind.REGRESSION:
                regressions.append(f"{c.template}/{c.model} {c.metric} regressed")
    if not any(v.changes for v in verdicts):
        click.echo("no change from the current baseline")
    return regressions
