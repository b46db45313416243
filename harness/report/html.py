"""report.html: one self-contained page (inline CSS/JS/SVG, no network) to explore a run.

Charts and tables are rendered here (jinja2, autoescaped); samples go into the page as JSON in
a `<script type="application/json">` block and the page's script builds the sample table,
the drill-down and the side-by-side view from it with textContent only. A Content-Security-Policy
allows only the page's own script (by hash) and no network at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from harness.record import RunMeta, SampleResult
from harness.report.common import (
    fmt_ci,
    fmt_cost,
    fmt_ms,
    fmt_pct,
    fmt_score,
    rule_docs,
    rule_name,
    sample_failed,
)
from harness.scoring import RunSummary, rule_violated

MAX_SAMPLES = 5_000
MAX_TEXT = 200_000  # per reply / unit source embedded in the page
ASSETS = Path(__file__).parent / "templates"


def json_for_script(data: Any) -> str:
    """JSON that is safe inside a <script> element: no `<`, `>`, `&`, U+2028, U+2029."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return text


def score_color(score: float | None) -> str:
    """Background for a 0..100 score: red -> amber -> green."""
    if score is None:
        return "#eef0f3"
    hue = max(0.0, min(100.0, score)) * 1.2
    return f"hsl({hue:.0f}, 70%, 82%)"


def rate_color(rate: float | None) -> str:
    """Background for a violation rate 0..1: green (never) -> red (always)."""
    return score_color(None if rate is None else 100 * (1 - rate))


# --------------------------------------------------------------------------- samples


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f"\n… [{len(text) - MAX_TEXT} more characters not shown]"


def _codes(r: SampleResult) -> list[str]:
    """Codes a sample is found under: its finding codes and the rules it violated (`ruff`)."""
    found = {f.code for f in r.findings}
    return sorted(found | {c for c in r.applicable if rule_violated(c, found)})


@dataclass(frozen=True, slots=True)
class EmbeddedSamples:
    samples: list[dict[str, Any]]
    prompts: dict[str, list[dict[str, str]]]
    total: int
    failing: int


def collect_samples(
    results: Iterable[SampleResult], min_scores: dict[str, float], cap: int = MAX_SAMPLES
) -> EmbeddedSamples:
    """Stream results and keep at most `cap` of them: failing ones first, then the rest."""
    failing: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    prompts: dict[str, list[dict[str, str]]] = {}
    total = n_failing = 0
    for r in results:
        total += 1
        failed = sample_failed(r, min_scores)
        n_failing += failed
        bucket = failing if failed else others
        if len(bucket) >= cap:
            continue
        pkey = hashlib.sha256(json.dumps(r.prompt, sort_keys=True).encode()).hexdigest()[:16]
        prompts.setdefault(pkey, [dict(m) for m in r.prompt])
        bucket.append(
            {
                "template": r.template,
                "model": r.model,
                "case": r.case,
                "sample": r.sample,
                "status": r.status,
                "score": r.score,
                "failed": failed,
                "simulated": r.simulated,
                "findings": [
                    {
                        "code": f.code,
                        "name": f.name,
                        "message": f.message,
                        "line": f.line,
                        "col": f.col,
                        "end_line": f.end_line,
                        "unit": f.unit,
                        "severity": str(f.severity),
                    }
                    for f in r.findings
                ],
                "applicable": list(r.applicable),
                "codes": _codes(r),
                "units": [
                    {"path": u.path, "source": _clip(u.source), "parse_error": u.parse_error}
                    for u in r.units
                ],
                "reply": _clip(r.reply),
                "prompt": pkey,
                "error": r.error,
                "detail": r.detail,
                "cost": r.usage.cost,
                "latency_ms": r.usage.latency_ms,
                "tokens": [r.usage.prompt_tokens, r.usage.completion_tokens],
                "cached": r.usage.cached,
            }
        )
    chosen = failing + others[: max(0, cap - len(failing))]
    chosen.sort(key=lambda s: (s["template"], s["model"], s["case"], s["sample"]))
    for i, s in enumerate(chosen):
        s["id"] = i
    used = {s["prompt"] for s in chosen}
    return EmbeddedSamples(
        chosen, {k: v for k, v in prompts.items() if k in used}, total, n_failing
    )


# --------------------------------------------------------------------------- charts


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    label: str


@dataclass(frozen=True, slots=True)
class Histogram:
    model: str
    simulated: bool
    bars: tuple[Bar, ...]
    n: int


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float
    label: str
    title: str
    color: str


@dataclass(frozen=True, slots=True)
class Scatter:
    points: tuple[Point, ...]
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    unknown: tuple[str, ...]  # models without cost data


HIST_W, HIST_H, HIST_PAD = 240.0, 120.0, 20.0
SCAT_W, SCAT_H, SCAT_L, SCAT_B, SCAT_T, SCAT_R = 560.0, 320.0, 48.0, 36.0, 14.0, 110.0
PALETTE = ("#3b6fd8", "#d8623b", "#2f9e6b", "#9b4fd0", "#c9a227", "#d03b8a", "#3bb3c9", "#6b6b6b")


def histograms(summary: RunSummary, bins: int = 10) -> list[Histogram]:
    out: list[Histogram] = []
    for m in summary.model_stats:
        counts = [0] * bins
        for s in m.scores:
            counts[min(bins - 1, int(s * bins / 100))] += 1
        peak = max(counts) or 1
        inner_h = HIST_H - 2 * HIST_PAD
        width = (HIST_W - 2 * HIST_PAD) / bins
        bars = []
        for i, c in enumerate(counts):
            h = inner_h * c / peak
            lo, hi = i * 100 // bins, (i + 1) * 100 // bins
            label = f"{lo}\u2013{hi}: {c} samples"
            x = HIST_PAD + i * width + 1
            bars.append(Bar(x, HIST_H - HIST_PAD - h, width - 2, h, label))
        out.append(Histogram(m.model, m.simulated, tuple(bars), len(m.scores)))
    return out


def scatter(summary: RunSummary) -> Scatter:
    rows = []
    unknown = []
    for m in summary.model_stats:
        if m.cost is None or not m.n_scored or m.mean_score is None:
            unknown.append(m.model)
        else:
            rows.append((m, m.cost / m.n_scored))
    top = max((c for _, c in rows), default=0.0) or 1.0
    inner_w = SCAT_W - SCAT_L - SCAT_R
    inner_h = SCAT_H - SCAT_T - SCAT_B
    points = []
    for i, (m, cost) in enumerate(rows):
        x = SCAT_L + inner_w * cost / top
        y = SCAT_T + inner_h * (1 - (m.mean_score or 0) / 100)
        title = f"{m.model}: mean score {fmt_score(m.mean_score)}, {fmt_cost(cost)} per sample"
        points.append(Point(x, y, m.model, title, PALETTE[i % len(PALETTE)]))
    x_ticks = tuple((SCAT_L + inner_w * f, fmt_cost(top * f) if rows else "") for f in (0, 0.5, 1))
    y_ticks = tuple((SCAT_T + inner_h * (1 - v / 100), str(v)) for v in (0, 25, 50, 75, 100))
    return Scatter(tuple(points), x_ticks, y_ticks, tuple(unknown))


# --------------------------------------------------------------------------- page


@dataclass(frozen=True, slots=True)
class HeatCell:
    text: str
    title: str
    color: str


def _heatmap(summary: RunSummary) -> list[tuple[str, str, list[HeatCell]]]:
    rows = []
    for code in summary.rules_seen:
        cells = []
        for alias in summary.ranking:
            m = summary.model(alias)
            rc = m.rule_counts.get(code) if m else None
            if rc is None:
                cells.append(HeatCell("\u2013", "not applicable", rate_color(None)))
            else:
                cells.append(
                    HeatCell(
                        fmt_pct(rc.rate),
                        f"violated in {rc.violations} of {rc.applicable} samples",
                        rate_color(rc.rate),
                    )
                )
        rows.append((code, rule_name(code), cells))
    return rows


@cache
def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(ASSETS)),
        autoescape=jinja2.select_autoescape(["html", "j2", "html.j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        score=fmt_score, pct=fmt_pct, cost=fmt_cost, ms=fmt_ms, score_color=score_color
    )
    env.globals["fmt_ci"] = fmt_ci
    return env


def _rules_for(codes: Sequence[str]) -> dict[str, dict[str, str]]:
    return {c: {"name": rule_name(c), "docs": rule_docs(c)} for c in sorted(set(codes))}


def render_html(
    meta: RunMeta,
    summary: RunSummary,
    results: Iterable[SampleResult],
    *,
    max_samples: int = MAX_SAMPLES,
) -> str:
    embedded = collect_samples(results, dict(meta.min_scores), max_samples)
    codes = {f["code"] for s in embedded.samples for f in s["findings"]} | set(summary.rules_seen)
    data = {
        "run_id": meta.run_id,
        "templates": list(summary.templates),
        "models": list(summary.ranking),
        "simulated": summary.simulated,
        "rules": _rules_for(sorted(codes)),
        "prompts": embedded.prompts,
        "samples": embedded.samples,
        "total": embedded.total,
    }
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    counts = ", ".join(f"{v} {k}" for k, v in summary.status_counts.items() if v)
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            meta=meta,
            summary=summary,
            status_line=counts,
            simulated=[m for m in summary.ranking if summary.simulated.get(m)],
            heatmap=_heatmap(summary),
            histograms=histograms(summary),
            scatter=scatter(summary),
            embedded=embedded,
            capped=embedded.total > len(embedded.samples),
            data_json=json_for_script(data),
            css=_asset("report.css"),
            script=script,
            script_hash=f"sha256-{digest}",
            dims={
                "hist_w": HIST_W,
                "hist_h": HIST_H,
                "hist_pad": HIST_PAD,
                "scat_w": SCAT_W,
                "scat_h": SCAT_H,
                "scat_l": SCAT_L,
                "scat_b": SCAT_B,
                "scat_t": SCAT_T,
                "scat_r": SCAT_R,
            },
        )
    )


def write_html(
    path: Path,
    meta: RunMeta,
    summary: RunSummary,
    results: Iterable[SampleResult],
    *,
    max_samples: int = MAX_SAMPLES,
) -> Path:
    path.write_text(render_html(meta, summary, results, max_samples=max_samples), "utf-8")
    return path
