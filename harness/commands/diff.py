"""`harness diff RUN_A RUN_B`: two stored runs compared per template, model and rule, with the
gate's statistics (RUN_A is the baseline)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="harness.yaml")
@click.pass_context
def command(ctx: click.Context, run_a: str, run_b: str, fmt: str, config_path: Path | None) -> None:
    """Compare RUN_B with RUN_A (run ids or directories): the pass rate and each rule's
    violation rate per template and model, tested as the gate tests them (within cases,
    margin, Holm correction).

    Exit status: 0 no regression, 1 RUN_B regressed, 2 usage or config error.
    """
    from harness.config import load_config
    from harness.golden import TemplateBaseline, cells_of
    from harness.record import iter_results, read_meta
    from harness.regress import Kind, compare
    from harness.runs import resolve_run
    from harness.scoring import aggregate

    config = load_config(config_path)
    reports = config.path(config.reports_dir)
    cells = {}
    metas = {}
    for key, name in (("a", run_a), ("b", run_b)):
        run = resolve_run(reports, name)
        meta = read_meta(run)
        summary = aggregate(iter_results(run / "results.jsonl"), meta.min_scores)
        cells[key] = cells_of(summary, {m.alias: m.model for m in meta.models})
        metas[key] = meta
    baselines = {
        t: TemplateBaseline(
            template=t,
            template_hash=metas["a"].templates.get(t, ""),
            min_score=metas["a"].min_scores.get(t, 80.0),
            models=dict(models),
            recordings="",
        )
        for t, models in cells["a"].items()
    }
    verdicts = compare(baselines, cells["b"], config.gate)
    changes = [c for v in verdicts for c in v.changes]
    regressions = [c for c in changes if c.kind is Kind.REGRESSION]
    rows = [
        {
            "template": c.template,
            "model": c.model,
            "metric": c.metric,
            "a": c.baseline,
            "b": c.current,
            "samples": [c.baseline_n, c.current_n],
            "p_value": c.p_value,
            "kind": c.kind.value,
            "reason": c.reason,
        }
        for c in changes
    ]
    only = [f"{v.template}/{v.model}: {v.status}" for v in verdicts if v.status != "compared"]
    a_id, b_id = metas["a"].run_id, metas["b"].run_id
    if fmt == "json":
        data = {"a": a_id, "b": b_id, "changes": rows, "not_compared": only}
        click.echo(json.dumps(data, indent=2))
    elif fmt == "markdown":
        out = [f"### {b_id} vs {a_id}: {len(regressions)} regression(s)", ""]
        if rows:
            out += [
                "| template | model | metric | a | b | samples | p | verdict |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for r in rows:
                p = "" if r["p_value"] is None else f"{r['p_value']:.3f}"
                out.append(
                    f"| {r['template']} | {r['model']} | {r['metric']} | {r['a']:.0%} | "
                    f"{r['b']:.0%} | {r['samples'][0]}\u2192{r['samples'][1]} | {p} | "
                    f"{r['kind']} |"
                )
        else:
            out.append("No rate moved.")
        click.echo("\n".join(out))
    else:
        for r in rows:
            click.echo(
                f"{r['kind'].upper():12} {r['template']}/{r['model']} {r['metric']}: "
                f"{r['a']:.0%} -> {r['b']:.0%} ({r['reason']})"
            )
        for line in only:
            click.echo(line)
        click.echo(f"{b_id} vs {a_id}: {len(regressions)} regression(s), {len(rows)} change(s)")
    ctx.exit(1 if regressions else 0)
