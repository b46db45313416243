"""summary.md: a run summary that fits in a pull-request comment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from harness.record import RunMeta, SampleResult
from harness.report.common import (
    fmt_ci,
    fmt_cost,
    fmt_ms,
    fmt_pct,
    fmt_score,
    rule_name,
    sample_failed,
    unusable_counts,
)
from harness.scoring import RunSummary
from harness.stats import wilson

MAX_CHARS = 65_000  # GitHub's comment limit is 65,536
MAX_FAILING = 25
MAX_FINDINGS_PER_SAMPLE = 5
TOP_RULES = 10


def md_escape(text: object) -> str:
    """Make text safe inside a Markdown table cell or list item (no HTML, no pipes)."""
    s = str(text)
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("`", "'")):
        s = s.replace(old, new)
    return " ".join(s.split())


def _row(cells: Iterable[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _failing_line(r: SampleResult, min_scores: Mapping[str, float]) -> str:
    where = (
        f"`{md_escape(r.template)}` · `{md_escape(r.model)}` · `{md_escape(r.case)}` #{r.sample}"
    )
    if r.status == "scored":
        floor = min_scores.get(r.template)
        what = f"score {fmt_score(r.score)}" + (f" < {floor:g}" if floor is not None else "")
        if r.breakdown:
            what += f" ({breakdown_text(r)})"
    else:
        what = md_escape(r.status) + (f": {md_escape(r.detail)}" if r.detail else "")
    parts = [f"{md_escape(f.code)} L{f.line}:{f.col} {md_escape(f.message)}" for f in r.findings]
    shown = parts[:MAX_FINDINGS_PER_SAMPLE]
    if len(parts) > len(shown):
        shown.append(f"+{len(parts) - len(shown)} more")
    tail = f" — {'; '.join(shown)}" if shown else ""
    return f"- {where}: {what}{tail}"


def breakdown_text(r: SampleResult) -> str:
    """A sample's score, rule by rule: each rule, its weight, passed or failed, blocking."""
    parts = []
    for b in r.breakdown:
        mark = {"pass": "\u2713", "fail": "\u2717", "exempt": "exempt"}[b.outcome]
        text = f"{md_escape(b.code)} \u00d7{b.weight:g} {mark}"
        if b.blocking and b.outcome == "fail":
            text += " blocking"
        if b.merged:
            text += f" (+{', '.join(md_escape(c) for c in b.merged)} merged)"
        parts.append(text)
    return " · ".join(parts)


def _adherence(summary: RunSummary, models: list[str]) -> list[str]:
    """Instruction adherence next to the house score: per linked rule, the share of samples
    that follow the instruction, per model, over every template linking it."""
    rows: dict[str, dict[str, list[int]]] = {}
    for cell in summary.cells:
        for code in cell.adherence:
            rc = cell.rule_counts.get(code)
            if rc is None:
                continue
            t = rows.setdefault(code, {}).setdefault(cell.model, [0, 0])
            t[0] += rc.applicable - rc.violations
            t[1] += rc.applicable
    if not rows:
        return []
    out = [
        "### Instruction adherence",
        "",
        "_Share of samples that follow each instruction a template links to a rule "
        "[95% CI]; the mean score above is the house score, comparable across templates._",
        "",
        _row(["Rule", *(f"`{md_escape(m)}`" for m in models)]),
        _row("---" for _ in range(len(models) + 1)),
    ]
    for code in sorted(rows):
        cells = [f"`{md_escape(code)}`"]
        for m in models:
            t = rows[code].get(m)
            cells.append(
                "\u2013" if not t or not t[1] else f"{fmt_pct(t[0] / t[1])} {fmt_ci(*wilson(*t))}"
            )
        out.append(_row(cells))
    return [*out, ""]


def render_markdown(
    meta: RunMeta,
    summary: RunSummary,
    results: Iterable[SampleResult],
    *,
    max_chars: int = MAX_CHARS,
    max_failing: int = MAX_FAILING,
) -> str:
    """The Markdown text; `results` is read once (streamed), keeping the first failing ones."""
    min_scores = meta.min_scores
    failing: list[str] = []
    n_failing = 0
    for r in results:
        if sample_failed(r, min_scores):
            n_failing += 1
            if len(failing) < max_failing:
                failing.append(_failing_line(r, min_scores))

    out: list[str] = [f"## prompt-harness run `{md_escape(meta.run_id)}`", ""]
    sim = [m for m in summary.ranking if summary.simulated.get(m)]
    if sim:
        names = ", ".join(f"`{md_escape(m)}`" for m in sim)
        out += [
            f"> **SIMULATED** \u2014 {names} "
            f"{'is a simulated model' if len(sim) == 1 else 'are simulated models'}: "
            "simulated replies are canned and their scores say nothing about a real model.",
            "",
        ]
    counts = ", ".join(f"{v} {md_escape(k)}" for k, v in summary.status_counts.items() if v)
    facts = [f"{summary.n} samples ({counts or 'none'})"]
    if meta.git_commit:
        facts.append(f"commit `{md_escape(meta.git_commit[:12])}`")
    facts.append(f"started {md_escape(meta.started_at)}")
    out += ["_" + " · ".join(facts) + "_", ""]

    out += ["### Models", ""]
    has_k = any(m.pass_at_k is not None for m in summary.model_stats)
    head = ["#", "Model", "Mean score", "Pass rate [95% CI]"]
    head += ["pass@k / pass^k"] if has_k else []
    head += ["No code / trunc. / parse", "Errors", "Cost", "p50 latency"]
    out += [_row(head), _row("---" for _ in head)]
    for m in summary.model_stats:
        name = f"`{md_escape(m.model)}`" + (" (simulated)" if m.simulated else "")
        row: list[object] = [
            m.rank,
            name,
            fmt_score(m.mean_score),
            f"{fmt_pct(m.pass_rate)} {fmt_ci(m.wilson_low, m.wilson_high)}",
        ]
        if has_k:
            row.append(
                "\u2013"
                if m.pass_at_k is None
                else f"{fmt_pct(m.pass_at_k)} / {fmt_pct(m.pass_hat_k)} (k={m.k})"
            )
        sc = m.status_counts
        row += [
            unusable_counts(sc, " / "),
            sc["provider-error"] + sc["not-recorded"],
            fmt_cost(m.cost),
            fmt_ms(m.latency_p50),
        ]
        out.append(_row(row))
    out.append("")

    out += ["### Templates \u00d7 models", "", "_Mean score · pass rate_", ""]
    models = list(summary.ranking)
    out += [_row(["Template", *(f"`{md_escape(m)}`" for m in models)])]
    out += [_row("---" for _ in range(len(models) + 1))]
    for t in summary.templates:
        cells: list[str] = [f"`{md_escape(t)}`"]
        for m in models:
            c = summary.cell(t, m)
            cells.append(
                "\u2013" if c is None else f"{fmt_score(c.mean_score)} · {fmt_pct(c.pass_rate)}"
            )
        out.append(_row(cells))
    out.append("")

    out += _adherence(summary, models)
    totals: dict[str, list[int]] = {}
    lines = sum(m.lines for m in summary.model_stats)
    for cell in summary.cells:
        for code, rc in cell.rule_counts.items():
            t = totals.setdefault(code, [0, 0, 0])
            t[0] += rc.violations
            t[1] += rc.applicable
            t[2] += rc.findings
    top = sorted(
        ((code, v, a, f) for code, (v, a, f) in totals.items() if v),
        key=lambda x: (-x[1] / x[2], -x[1], x[0]),
    )[:TOP_RULES]
    out += ["### Most violated rules", ""]
    if top:
        head = ["Code", "Rule", "Violated in", "Rate [95% CI]", "Per 100 lines"]
        out += [_row(head), _row(["---"] * len(head))]
        out += [
            _row(
                [
                    f"`{md_escape(code)}`",
                    md_escape(rule_name(code)),
                    f"{v} / {a} samples",
                    f"{fmt_pct(v / a)} {fmt_ci(*wilson(v, a))}",
                    f"{100 * f / lines:.2f}" if lines else "\u2013",
                ]
            )
            for code, v, a, f in top
        ]
    else:
        out.append("No rule was violated.")
    out.append("")

    out += [f"### Failing samples ({n_failing})", ""]
    out += failing or ["None."]
    if n_failing > len(failing):
        out.append(f"- … and {n_failing - len(failing)} more (see report.html)")
    out.append("")

    text = "\n".join(out)
    if len(text) > max_chars:
        note = "\n\n_… truncated to fit a comment; the full summary is in report.html._\n"
        cut = text.rfind("\n", 0, max_chars - len(note))
        text = text[: max(cut, 0)] + note
    return text


def write_markdown(
    path: Path, meta: RunMeta, summary: RunSummary, results: Iterable[SampleResult]
) -> Path:
    path.write_text(render_markdown(meta, summary, results), encoding="utf-8")
    return path
