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
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from harness.record import RunMeta, SampleResult, iter_results
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
from harness.sample import rule_violated
from harness.scoring import RunSummary

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


def verdict(cell: Any) -> str:
    """The matrix cell's class: `pass` when most of its scored samples pass (against the
    template's min_score and blocking rules), `fail` otherwise, `none` with none scored."""
    rate = getattr(cell, "pass_rate", None)
    if rate is None:
        return "none"
    return "pass" if rate >= 0.5 else "fail"


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


def _prompt_key(prompt: Sequence[dict[str, str]]) -> str:
    return hashlib.sha256(json.dumps(prompt, sort_keys=True).encode()).hexdigest()[:16]


def _sample_data(r: SampleResult, failed: bool, prompt_key: str) -> dict[str, Any]:
    """What the page's script needs of one sample (the caller adds its `id`)."""
    return {
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
        "breakdown": [b.model_dump() for b in r.breakdown],
        "codes": _codes(r),
        "units": [
            {"path": u.path, "source": _clip(u.source), "parse_error": u.parse_error}
            for u in r.units
        ],
        "reply": _clip(r.reply),
        "prompt": prompt_key,
        "error": r.error,
        "detail": r.detail,
        "cost": r.usage.cost,
        "latency_ms": r.usage.latency_ms,
        "tokens": [r.usage.prompt_tokens, r.usage.completion_tokens],
        "cached": r.usage.cached,
    }


def _sort_key(r: SampleResult) -> tuple[str, str, str, int]:
    return (r.template, r.model, r.case, r.sample)


@dataclass(frozen=True, slots=True)
class EmbeddedSamples:
    samples: list[dict[str, Any]]
    prompts: dict[str, list[dict[str, str]]]
    total: int
    failing: int

    @property
    def shown(self) -> int:
        return len(self.samples)


def collect_samples(
    results: Iterable[SampleResult], min_scores: dict[str, float], cap: int = MAX_SAMPLES
) -> EmbeddedSamples:
    """Keep at most `cap` samples in memory, failing ones first, then the rest (in the order
    read), sorted for the page. For small runs and tests: `write_html` streams instead."""
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
        pkey = _prompt_key(r.prompt)
        prompts.setdefault(pkey, [dict(m) for m in r.prompt])
        bucket.append(_sample_data(r, failed, pkey))
    chosen = failing + others[: max(0, cap - len(failing))]
    chosen.sort(key=lambda s: (s["template"], s["model"], s["case"], s["sample"]))
    for i, s in enumerate(chosen):
        s["id"] = i
    used = {s["prompt"] for s in chosen}
    return EmbeddedSamples(chosen, {k: prompts[k] for k in sorted(used)}, total, n_failing)


@dataclass(frozen=True, slots=True)
class SamplePick:
    """Which samples a page embeds: position in the results stream -> id on the page."""

    ids: dict[int, int]
    total: int
    failing: int

    @property
    def shown(self) -> int:
        return len(self.ids)


def pick_samples(
    results: Iterable[SampleResult], min_scores: dict[str, float], cap: int = MAX_SAMPLES
) -> SamplePick:
    """Choose the samples `collect_samples` would keep, holding only their sort keys.

    At most `cap` entries are alive at any time: the first `cap` failing samples, and as many
    others as still fit beside them (the failing count only grows, so the surplus is dropped).
    """
    # (sort key, 0 for failing / 1 for others, stream position): ties sort failing first
    failing: list[tuple[tuple[str, str, str, int], int, int]] = []
    others: list[tuple[tuple[str, str, str, int], int, int]] = []
    names: dict[str, str] = {}  # one copy of each template / model / case name
    total = n_failing = 0
    for pos, r in enumerate(results):
        total += 1
        failed = sample_failed(r, min_scores)
        n_failing += failed
        if failed and len(failing) < cap:
            failing.append((_interned(_sort_key(r), names), 0, pos))
            del others[max(0, cap - len(failing)) :]
        elif not failed and len(failing) + len(others) < cap:
            others.append((_interned(_sort_key(r), names), 1, pos))
    chosen = sorted(failing + others)
    return SamplePick({pos: i for i, (_, _, pos) in enumerate(chosen)}, total, n_failing)


def _interned(key: tuple[str, str, str, int], names: dict[str, str]) -> tuple[str, str, str, int]:
    t, m, c, n = key
    return (names.setdefault(t, t), names.setdefault(m, m), names.setdefault(c, c), n)


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


def _heat_rows(
    codes: Sequence[str], models: Sequence[str], counts: Any, lines: Any
) -> list[tuple[str, str, list[HeatCell]]]:
    """Rows of a heat map: the rules that applied somewhere, most violated first.
    `counts(model)` is a model's rule counts, `lines(model)` its lines of code."""

    def rate(code: str) -> float:
        pairs = [counts(m)[code] for m in models if code in counts(m)]
        a = sum(rc.applicable for rc in pairs)
        return sum(rc.violations for rc in pairs) / a if a else 0.0

    applied = [c for c in codes if any(c in counts(m) and counts(m)[c].applicable for m in models)]
    rows = []
    for code in sorted(applied, key=lambda c: (-rate(c), c)):
        cells = []
        for m in models:
            rc = counts(m).get(code)
            if rc is None:
                cells.append(HeatCell("\u2013", "not applicable", rate_color(None)))
                continue
            density = f"; {rc.per_100_lines:.2f} findings per 100 lines" if lines(m) else ""
            cells.append(
                HeatCell(
                    f"{fmt_pct(rc.rate)} {fmt_ci(rc.low, rc.high)}",
                    f"violated in {rc.violations} of {rc.applicable} samples{density}",
                    rate_color(rc.rate),
                )
            )
        rows.append((code, rule_name(code), cells))
    return rows


def _heatmap(summary: RunSummary) -> list[tuple[str, str, list[HeatCell]]]:
    """Every template together: one row per rule that applied, most violated first."""
    stats = {m.model: m for m in summary.model_stats}
    return _heat_rows(
        summary.rules_seen,
        summary.ranking,
        lambda m: stats[m].rule_counts if m in stats else {},
        lambda m: stats[m].lines if m in stats else 0,
    )


def _heatmaps_by_template(summary: RunSummary) -> list[tuple[str, list]]:
    """The same heat map for each template on its own."""
    out = []
    for t in summary.templates:
        cells = {c.model: c for c in summary.cells if c.template == t}
        rows = _heat_rows(
            summary.rules_seen,
            summary.ranking,
            lambda m, cells=cells: cells[m].rule_counts if m in cells else {},  # type: ignore[misc]
            lambda m, cells=cells: cells[m].lines if m in cells else 0,  # type: ignore[misc]
        )
        if rows:
            out.append((t, rows))
    return out


@cache
def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


@cache
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
        score=fmt_score,
        pct=fmt_pct,
        cost=fmt_cost,
        ms=fmt_ms,
        score_color=score_color,
        verdict=verdict,
    )
    env.globals["fmt_ci"] = fmt_ci
    return env


def preload() -> None:
    """Compile the page template and read its assets now (a worker that writes the report
    later calls this while it would otherwise wait)."""
    _environment().get_template("report.html.j2")
    for name in ("report.js", "report.css"):
        _asset(name)


def _rules_for(codes: Sequence[str]) -> dict[str, dict[str, str]]:
    return {c: {"name": rule_name(c), "docs": rule_docs(c)} for c in sorted(set(codes))}


_DATA_MARK = "\x00harness-report-data\x00"


def _page(
    meta: RunMeta, summary: RunSummary, embedded: EmbeddedSamples | SamplePick, data: str
) -> str:
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
            failed_requests=summary.status_counts.get("provider-error", 0)
            + summary.status_counts.get("not-recorded", 0),
            no_results=[m.model for m in summary.model_stats if m.n and not m.n_scored],
            heatmap=_heatmap(summary),
            heatmaps=_heatmaps_by_template(summary),
            histograms=histograms(summary),
            scatter=scatter(summary),
            embedded=embedded,
            capped=embedded.total > embedded.shown,
            data_json=data,
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


def _data_head(meta: RunMeta, summary: RunSummary, codes: set[str]) -> dict[str, Any]:
    """The page data before `prompts` and `samples`, in the order the page writes it."""
    return {
        "run_id": meta.run_id,
        "templates": list(summary.templates),
        "models": list(summary.ranking),
        "simulated": summary.simulated,
        "rules": _rules_for(sorted(codes | set(summary.rules_seen))),
    }


def render_html(
    meta: RunMeta,
    summary: RunSummary,
    results: Iterable[SampleResult],
    *,
    max_samples: int = MAX_SAMPLES,
) -> str:
    """The page as one string, its samples collected in memory (small runs, tests).

    `write_html` writes the same page from results.jsonl without holding the samples.
    """
    embedded = collect_samples(results, dict(meta.min_scores), max_samples)
    codes = {f["code"] for s in embedded.samples for f in s["findings"]}
    data = {
        **_data_head(meta, summary, codes),
        "prompts": embedded.prompts,
        "samples": embedded.samples,
        "total": embedded.total,
    }
    return _page(meta, summary, embedded, json_for_script(data))


def write_html(
    path: Path,
    meta: RunMeta,
    summary: RunSummary,
    results_path: Path,
    *,
    max_samples: int = MAX_SAMPLES,
) -> Path:
    """Write report.html streaming results.jsonl twice: once to pick the embedded samples
    (`pick_samples`), once to serialise just those, one at a time, to a spool file. Then the
    page is written around the spooled samples, in page order."""
    min_scores = dict(meta.min_scores)
    pick = pick_samples(iter_results(results_path), min_scores, max_samples)
    spans: list[tuple[int, int]] = [(0, 0)] * pick.shown
    prompts: dict[str, list[dict[str, str]]] = {}
    codes: set[str] = set()
    tmp = path.with_name(path.name + ".tmp")
    with tempfile.TemporaryFile() as spool:
        for pos, r in enumerate(iter_results(results_path)):
            sid = pick.ids.get(pos)
            if sid is None:
                continue
            pkey = _prompt_key(r.prompt)
            if pkey not in prompts:
                prompts[pkey] = [dict(m) for m in r.prompt]
            codes.update(f.code for f in r.findings)
            sample = _sample_data(r, sample_failed(r, min_scores), pkey)
            sample["id"] = sid
            blob = json_for_script(sample).encode()
            spans[sid] = (spool.tell(), len(blob))
            spool.write(blob)
        head, _, tail = _page(meta, summary, pick, _DATA_MARK).rpartition(_DATA_MARK)
        data = json_for_script(_data_head(meta, summary, codes))
        prompts_json = json_for_script({k: prompts[k] for k in sorted(prompts)})
        with tmp.open("wb") as out:
            out.write(head.encode())
            out.write(f'{data[:-1]},"prompts":{prompts_json},"samples":['.encode())
            for i, (offset, size) in enumerate(spans):
                spool.seek(offset)
                if i:
                    out.write(b",")
                out.write(spool.read(size))
            out.write(f'],"total":{pick.total}}}'.encode())
            out.write(tail.encode())
    tmp.replace(path)
    return path
