"""Report writers. `write_reports` writes every report file of a run directory.

Each writer streams results.jsonl (`harness.record.iter_results`) itself, once or twice, and
writes its file as it goes; nothing holds all samples in memory. Memory grows with templates,
models, cases and rules, and with the HTML page's sample cap, never with the samples.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from harness.record import RunMeta, iter_results, read_meta
from harness.scoring import RunSummary, aggregate

REPORT_FILES = {
    "json": "summary.json",
    "markdown": "summary.md",
    "junit": "junit.xml",
    "sarif": "findings.sarif",
    "html": "report.html",
}


def _sarif_available() -> bool:
    return importlib.util.find_spec("harness.report.sarif") is not None


def write_reports(
    run_dir: Path,
    meta: RunMeta,
    summary: RunSummary,
    results_path: Path,
    *,
    formats: tuple[str, ...] | None = None,
) -> dict[str, Path]:
    """Write summary.json, summary.md, junit.xml, findings.sarif and report.html into run_dir.

    `formats` picks a subset by key (json, markdown, junit, sarif, html). Returns key -> path
    for every file written.
    """
    from harness.report.html import write_html
    from harness.report.junit import write_junit
    from harness.report.markdown import write_markdown
    from harness.report.summary_json import write_summary_json

    run_dir.mkdir(parents=True, exist_ok=True)
    wanted = formats or tuple(REPORT_FILES)
    out: dict[str, Path] = {}
    for key in wanted:
        path = run_dir / REPORT_FILES[key]
        if key == "json":
            out[key] = write_summary_json(path, meta, summary)
        elif key == "markdown":
            out[key] = write_markdown(path, meta, summary, iter_results(results_path))
        elif key == "junit":
            out[key] = write_junit(path, meta, summary, iter_results(results_path))
        elif key == "html":
            out[key] = write_html(path, meta, summary, results_path)
        elif key == "sarif" and _sarif_available():
            from harness.report.sarif import write_sarif_run

            out[key] = write_sarif_run(path, meta, results_path)
    return out


def preload() -> None:
    """Import every writer and load the HTML template, so later writes start warm."""
    import harness.report.markdown
    import harness.report.sarif  # noqa: F401
    from harness.report import html

    html.preload()


def build_reports(
    run_dir: Path, meta: RunMeta | None = None, *, formats: tuple[str, ...] | None = None
) -> tuple[RunSummary, dict[str, Path]]:
    """Aggregate results.jsonl (streamed) and write the reports. No model calls."""

    meta = meta or read_meta(run_dir)
    results = run_dir / "results.jsonl"
    if not results.exists():
        results.touch()
    summary = aggregate(iter_results(results), meta.min_scores)
    reports = write_reports(run_dir, meta, summary, results, formats=formats)
    return summary, reports
