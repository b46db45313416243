"""junit.xml: one testsuite per template, one testcase per template x model x case.

A testcase fails when any of its samples failed (score below the template's min score, or no
usable code); a provider error is an `<error>`; a case with only offline misses is `<skipped>`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harness.record import RunMeta, SampleResult
from harness.report.common import fmt_score, sample_failed
from harness.scoring import RunSummary

MAX_LINES_PER_CASE = 200
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (model replies can contain anything)."""
    return _XML_ILLEGAL.sub("\ufffd", text)


@dataclass
class _Case:
    n: int = 0
    failed: int = 0
    errors: int = 0
    not_recorded: int = 0
    seconds: float = 0.0
    lines: list[str] = field(default_factory=list)
    error_lines: list[str] = field(default_factory=list)

    def note(self, target: list[str], text: str) -> None:
        if len(target) < MAX_LINES_PER_CASE:
            target.append(text)
        elif len(target) == MAX_LINES_PER_CASE:
            target.append("…")


def _sample_lines(r: SampleResult) -> list[str]:
    head = f"sample {r.sample}: {r.status}"
    if r.status == "scored":
        head += f", score {fmt_score(r.score)}"
    if r.detail:
        head += f" ({r.detail})"
    lines = [head]
    for f in r.findings:
        unit = r.units[f.unit].path if 0 <= f.unit < len(r.units) and len(r.units) > 1 else ""
        prefix = f"{unit}:" if unit else ""
        lines.append(f"  {f.code} {prefix}{f.line}:{f.col} {f.message}")
    return lines


def build_junit(
    meta: RunMeta, summary: RunSummary, results: Iterable[SampleResult]
) -> ET.ElementTree:
    cases: dict[tuple[str, str, str], _Case] = {}
    for r in results:
        acc = cases.setdefault((r.template, r.model, r.case), _Case())
        acc.n += 1
        acc.seconds += r.usage.latency_ms / 1000
        if r.status == "provider-error":
            acc.errors += 1
            acc.note(acc.error_lines, f"sample {r.sample}: {r.error or 'provider error'}")
        elif r.status == "not-recorded":
            acc.not_recorded += 1
        elif sample_failed(r, meta.min_scores):
            acc.failed += 1
            for line in _sample_lines(r):
                acc.note(acc.lines, line)

    root = ET.Element("testsuites", name=f"prompt-harness {meta.run_id}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    templates = sorted({t for t, _, _ in cases})
    for template in templates:
        suite = ET.SubElement(root, "testsuite", name=template)
        keys = sorted(k for k in cases if k[0] == template)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="run_id", value=meta.run_id)
        simulated = sorted({m for _, m, _ in keys if summary.simulated.get(m)})
        if simulated:
            ET.SubElement(props, "property", name="simulated_models", value=",".join(simulated))
        floor = meta.min_scores.get(template)
        if floor is not None:
            ET.SubElement(props, "property", name="min_score", value=f"{floor:g}")
        for _, model, case in keys:
            acc = cases[(template, model, case)]
            tc = ET.SubElement(
                suite,
                "testcase",
                classname=f"{template}.{model}",
                name=case,
                time=f"{acc.seconds:.3f}",
            )
            counts["tests"] += 1
            counts["time"] += acc.seconds
            if acc.failed:
                counts["failures"] += 1
                scored = acc.n - acc.errors - acc.not_recorded
                el = ET.SubElement(
                    tc, "failure", message=f"{acc.failed} of {scored} samples failed", type="score"
                )
                text = acc.lines + ([f"provider errors: {acc.errors}"] if acc.errors else [])
                el.text = xml_text("\n".join(text))
            elif acc.errors:
                counts["errors"] += 1
                el = ET.SubElement(
                    tc,
                    "error",
                    message=f"{acc.errors} of {acc.n} samples had provider errors",
                    type="provider-error",
                )
                el.text = xml_text("\n".join(acc.error_lines))
            elif acc.not_recorded == acc.n:
                counts["skipped"] += 1
                ET.SubElement(
                    tc,
                    "skipped",
                    message=f"no recorded response for {acc.n} samples (offline)",
                )
        for key, value in counts.items():
            suite.set(key, f"{value:.3f}" if key == "time" else str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, f"{value:.3f}" if key == "time" else str(value))
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(
    path: Path, meta: RunMeta, summary: RunSummary, results: Iterable[SampleResult]
) -> Path:
    build_junit(meta, summary, results).write(path, encoding="utf-8", xml_declaration=True)
    return path
