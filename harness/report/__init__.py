"""Report writers. `write_reports` writes every report file of a run directory.

Each writer streams results.jsonl (`harness.record.iter_results`) itself; nothing holds all
samples in memory.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from harness.record import RunMeta, iter_results
from harness.scoring import RunSummary

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
            out[key] = write_html(path, meta, summary, iter_results(results_path))
        elif key == "sarif" and _sarif_available():
            from harness.report.sarif import sarif_for_run

            doc = sarif_for_run(meta, iter_results(results_path))
            path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
            out[key] = path
    return out
