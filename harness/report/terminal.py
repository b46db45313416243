"""The comparison table printed after a run (rich, imported lazily)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.report.common import fmt_ci, fmt_cost, fmt_ms, fmt_pct, fmt_score
from harness.scoring import RunSummary

if TYPE_CHECKING:
    from rich.console import Console


def _score_style(score: float | None) -> str:
    if score is None:
        return "dim"
    return "green" if score >= 80 else "yellow" if score >= 50 else "red"


def print_table(summary: RunSummary, console: Console | None = None) -> None:
    """Print the model ranking and a template x model matrix of mean scores."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    if summary.any_simulated:
        sim = ", ".join(m for m in summary.ranking if summary.simulated.get(m))
        console.print(
            f"[bold black on yellow] SIMULATED [/] {sim}: canned replies, not real models"
        )

    table = Table(title="Models", title_justify="left", header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("model")
    table.add_column("sim", justify="center")
    table.add_column("mean", justify="right")
    table.add_column("pass rate [95% CI]", justify="right")
    table.add_column("no-code/trunc/parse", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("cost", justify="right")
    table.add_column("p50/p95", justify="right")
    for m in summary.model_stats:
        sc = m.status_counts
        table.add_row(
            str(m.rank),
            m.model,
            "✱" if m.simulated else "",
            f"[{_score_style(m.mean_score)}]{fmt_score(m.mean_score)}[/]",
            f"{fmt_pct(m.pass_rate)} {fmt_ci(m.wilson_low, m.wilson_high)}",
            f"{sc['no-code']}/{sc['truncated']}/{sc['parse-error']}",
            str(sc["provider-error"] + sc["not-recorded"]),
            fmt_cost(m.cost),
            f"{fmt_ms(m.latency_p50)}/{fmt_ms(m.latency_p95)}",
        )
    console.print(table)

    if not summary.templates:
        return
    matrix = Table(
        title="Mean score: template \u00d7 model", title_justify="left", header_style="bold"
    )
    matrix.add_column("template")
    for m in summary.ranking:
        matrix.add_column(m, justify="right")
    for t in summary.templates:
        cells = []
        for m in summary.ranking:
            c = summary.cell(t, m)
            if c is None:
                cells.append("[dim]\u2013[/]")
            else:
                cells.append(f"[{_score_style(c.mean_score)}]{fmt_score(c.mean_score)}[/]")
        matrix.add_row(t, *cells)
    console.print(matrix)
