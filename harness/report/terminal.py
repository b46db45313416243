"""The comparison table printed after a run (rich, imported lazily)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.report.common import fmt_ci, fmt_cost, fmt_pct, fmt_score, unusable_counts
from harness.scoring import RunSummary

if TYPE_CHECKING:
    from rich.console import Console


def _score_style(score: float | None) -> str:
    if score is None:
        return "dim"
    return "green" if score >= 80 else "yellow" if score >= 50 else "red"


def print_table(summary: RunSummary, console: Console | None = None, *, top: int = 3) -> None:
    """Print the model ranking, a template x model matrix of mean scores, and each model's
    `top` most violated rules with their 95% intervals."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    if summary.any_simulated:
        sim = ", ".join(m for m in summary.ranking if summary.simulated.get(m))
        console.print(
            f"[bold black on yellow] SIMULATED [/] {sim}: canned replies, not real models"
        )

    table = Table(
        title="Models",
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    for name, justify in (
        ("#", "right"),
        ("model", "left"),
        ("mean", "right"),
        ("pass", "right"),
        ("95% CI", "right"),
        ("nc/tr/pe", "right"),
        ("/100L", "right"),
        ("err", "right"),
        ("cost", "right"),
        ("p50/p95", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for m in summary.model_stats:
        sc = m.status_counts
        lat = (
            "\u2013"
            if m.latency_p50 is None or m.latency_p95 is None
            else f"{m.latency_p50:.0f}/{m.latency_p95:.0f}"
        )
        table.add_row(
            str(m.rank),
            m.model + (" [yellow]\u2731[/]" if m.simulated else ""),
            f"[{_score_style(m.mean_score)}]{fmt_score(m.mean_score)}[/]",
            fmt_pct(m.pass_rate),
            fmt_ci(m.wilson_low, m.wilson_high) if m.pass_rate is not None else "\u2013",
            unusable_counts(sc),
            f"{m.findings_per_100_lines:.1f}" if m.lines else "\u2013",
            str(sc["provider-error"] + sc["not-recorded"]),
            fmt_cost(m.cost),
            lat,
        )
    console.print(table)
    console.print(
        "[dim]nc/tr/pe: no code / truncated / parse error (ce: could not be checked, nx: nothing"
        " to check); /100L: findings per 100 lines of code; err: provider errors and offline"
        " misses; latency in ms[/]"
    )

    if not summary.templates:
        return
    matrix = Table(
        title="Mean score: template \u00d7 model",
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
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
    _top_violations(summary, console, top)


def _top_violations(summary: RunSummary, console: Console, top: int) -> None:
    from rich import box
    from rich.table import Table

    table = Table(
        title="Top violations per model",
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
    )
    for name in ("model", "rule", "violated", "95% CI", "/100L"):
        table.add_column(name, justify="left" if name in ("model", "rule") else "right")
    rows = 0
    for m in summary.model_stats:
        worst = sorted(
            ((code, rc) for code, rc in m.rule_counts.items() if rc.violations),
            key=lambda item: (-item[1].rate, item[0]),
        )[:top]
        for code, rc in worst:
            table.add_row(
                m.model,
                code,
                f"{fmt_pct(rc.rate)} ({rc.violations}/{rc.applicable})",
                fmt_ci(rc.low, rc.high),
                f"{rc.per_100_lines:.1f}" if m.lines else "\u2013",
            )
            rows += 1
    if rows:
        console.print(table)
