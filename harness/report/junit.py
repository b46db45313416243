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


def collect_cases(
    meta: RunMeta, results: Iterable[SampleResult]
) -> dict[tuple[str, str, str], _Case]:
    """Stream results into one small summary per (template, model, case).

    Memory grows with the number of cases, never with samples: each case keeps counters and
    at most MAX_LINES_PER_CASE lines of failures and of provider errors.
    """
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
    return cases


_COUNTS = ("tests", "failures", "errors", "skipped", "time")


def _counts(accs: Iterable[_Case]) -> dict[str, float]:
    counts: dict[str, float] = dict.fromkeys(_COUNTS, 0)
    for acc in accs:
        counts["tests"] += 1
        counts["time"] += acc.seconds
        if acc.failed:
            counts["failures"] += 1
        elif acc.errors:
            counts["errors"] += 1
        elif acc.not_recorded == acc.n:
            counts["skipped"] += 1
    return counts


def _count_attrs(counts: dict[str, float]) -> dict[str, str]:
    return {k: f"{v:.3f}" if k == "time" else str(int(v)) for k, v in counts.items()}


def _properties(
    meta: RunMeta, summary: RunSummary, template: str, models: Iterable[str]
) -> ET.Element:
    props = ET.Element("properties")
    ET.SubElement(props, "property", name="run_id", value=meta.run_id)
    simulated = sorted({m for m in models if summary.simulated.get(m)})
    if simulated:
        ET.SubElement(props, "property", name="simulated_models", value=",".join(simulated))
    floor = meta.min_scores.get(template)
    if floor is not None:
        ET.SubElement(props, "property", name="min_score", value=f"{floor:g}")
    return props


def _testcase(template: str, model: str, case: str, acc: _Case) -> ET.Element:
    tc = ET.Element(
        "testcase", classname=f"{template}.{model}", name=case, time=f"{acc.seconds:.3f}"
    )
    if acc.failed:
        scored = acc.n - acc.errors - acc.not_recorded
        el = ET.SubElement(
            tc, "failure", message=f"{acc.failed} of {scored} samples failed", type="score"
        )
        text = acc.lines + ([f"provider errors: {acc.errors}"] if acc.errors else [])
        el.text = xml_text("\n".join(text))
    elif acc.errors:
        el = ET.SubElement(
            tc,
            "error",
            message=f"{acc.errors} of {acc.n} samples had provider errors",
            type="provider-error",
        )
        el.text = xml_text("\n".join(acc.error_lines))
    elif acc.not_recorded == acc.n:
        ET.SubElement(tc, "skipped", message=f"no recorded response for {acc.n} samples (offline)")
    return tc


def _suites(
    cases: dict[tuple[str, str, str], _Case],
) -> list[tuple[str, list[tuple[str, str, str]]]]:
    templates = sorted({t for t, _, _ in cases})
    return [(t, sorted(k for k in cases if k[0] == t)) for t in templates]


def build_junit(
    meta: RunMeta, summary: RunSummary, results: Iterable[SampleResult]
) -> ET.ElementTree:
    """The whole junit.xml as one tree (small runs, tests); `write_junit` streams it."""
    cases = collect_cases(meta, results)
    root = ET.Element("testsuites", name=f"prompt-harness {meta.run_id}")
    for template, keys in _suites(cases):
        suite = ET.SubElement(root, "testsuite", name=template)
        suite.append(_properties(meta, summary, template, (m for _, m, _ in keys)))
        for key in keys:
            suite.append(_testcase(*key, cases[key]))
        suite.attrib.update(_count_attrs(_counts(cases[k] for k in keys)))
    root.attrib.update(_count_attrs(_counts(cases.values())))
    ET.indent(root)
    return ET.ElementTree(root)


def _start_tag(tag: str, attrs: dict[str, str]) -> str:
    """`<tag a="v">` escaped as ElementTree escapes it."""
    return ET.tostring(ET.Element(tag, attrs), encoding="unicode").removesuffix(" />") + ">"


def _element(el: ET.Element, level: int, tail: str) -> str:
    ET.indent(el, level=level)
    el.tail = tail
    return ET.tostring(el, encoding="unicode")


def write_junit(
    path: Path, meta: RunMeta, summary: RunSummary, results: Iterable[SampleResult]
) -> Path:
    """Write junit.xml: `results` is read once into per-case summaries, then each testcase
    is written as it is built (the same bytes as `build_junit(...).write(...)`)."""
    cases = collect_cases(meta, results)
    suites = _suites(cases)
    root = {"name": f"prompt-harness {meta.run_id}", **_count_attrs(_counts(cases.values()))}
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write("<?xml version='1.0' encoding='utf-8'?>\n")
        if not suites:
            out.write(ET.tostring(ET.Element("testsuites", root), encoding="unicode"))
        else:
            out.write(_start_tag("testsuites", root) + "\n  ")
            for i, (template, keys) in enumerate(suites):
                counts = _count_attrs(_counts(cases[k] for k in keys))
                out.write(_start_tag("testsuite", {"name": template, **counts}) + "\n    ")
                props = _properties(meta, summary, template, (m for _, m, _ in keys))
                out.write(_element(props, 2, "\n    " if keys else "\n  "))
                for j, key in enumerate(keys):
                    last = j == len(keys) - 1
                    out.write(
                        _element(_testcase(*key, cases[key]), 2, "\n  " if last else "\n    ")
                    )
                out.write("</testsuite>" + ("\n" if i == len(suites) - 1 else "\n  "))
            out.write("</testsuites>")
    tmp.replace(path)
    return path
