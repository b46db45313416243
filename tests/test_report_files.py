"""The report files: summary.json, summary.md, junit.xml, findings.sarif, report.html, terminal."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.findings import Finding
from harness.record import ResultsWriter, SampleResult, iter_results
from harness.report import REPORT_FILES, write_reports
from harness.report.common import fmt_ci
from harness.report.html import (
    collect_samples,
    json_for_script,
    pick_samples,
    render_html,
    write_html,
)
from harness.report.junit import build_junit
from harness.report.markdown import render_markdown
from harness.stats import wilson
from tests.report_run import BAD_LINE, PAYLOAD, Run, build_run

XSD = Path(__file__).parent / "data" / "junit.xsd"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, dict[str, Path]]:
    r = build_run(tmp_path_factory.mktemp("run"))
    return r, write_reports(r.run_dir, r.meta, r.summary, r.results_path)


def test_write_reports_writes_every_file(run: tuple[Run, dict[str, Path]]) -> None:
    _, paths = run
    expected = set(REPORT_FILES)
    if importlib.util.find_spec("harness.report.sarif") is None:
        expected.discard("sarif")
    assert set(paths) == expected
    for key, path in paths.items():
        assert path.name == REPORT_FILES[key]
        assert path.stat().st_size > 0
    assert not [p.name for p in paths["json"].parent.iterdir() if p.name.endswith(".tmp")]


def test_sarif_written_when_the_sarif_writer_exists(run: tuple[Run, dict[str, Path]]) -> None:
    _, paths = run
    if importlib.util.find_spec("harness.report.sarif") is None:
        assert "sarif" not in paths
        return
    doc = json.loads(paths["sarif"].read_text())
    assert doc["version"] == "2.1.0"
    results = [res for r in doc["runs"] for res in r["results"]]
    assert {res["ruleId"] for res in results} == {"EXC002"}
    assert all(
        loc["physicalLocation"]["region"]["startLine"] == BAD_LINE
        for res in results
        for loc in res["locations"]
    )


def test_summary_json(run: tuple[Run, dict[str, Path]]) -> None:
    r, paths = run
    data = json.loads(paths["json"].read_text())
    assert data["run_id"] == r.meta.run_id
    assert data["ranking"] == ["careful", "chatty", "sloppy"]
    assert data["simulated"] == {"careful": True, "chatty": False, "sloppy": False}
    cell = next(
        c for c in data["cells"] if c["template"] == "service-layer" and c["model"] == "sloppy"
    )
    assert cell["mean_score"] == 0.0
    rule = cell["rule_counts"]["EXC002"]
    assert (rule["applicable"], rule["violations"], rule["findings"]) == (4, 4, 4)
    # Every rate carries its Wilson 95% interval; density is per 100 generated lines.
    assert rule["low"] == pytest.approx(wilson(4, 4)[0]) and rule["high"] == 1.0
    lines = cell["lines"]
    assert lines > 0 and rule["per_100_lines"] == pytest.approx(400 / lines, abs=1e-6)
    assert cell["findings_per_100_lines"] == pytest.approx(400 / lines, abs=1e-6)
    for row in (*data["cells"], *data["model_stats"]):
        assert 0 <= row["wilson_low"] <= row["wilson_high"] <= 1
        for rc in row["rule_counts"].values():
            assert 0 <= rc["low"] <= rc["violations"] / rc["applicable"] <= rc["high"] <= 1
    assert cell["pass_rate"] == 0.0


# --------------------------------------------------------------------------- markdown


def test_summary_md(run: tuple[Run, dict[str, Path]]) -> None:
    _, paths = run
    md = paths["markdown"].read_text()
    assert len(md) < 65_000
    assert "**SIMULATED**" in md and "`careful`" in md
    # Ranked model table, best first, with the Wilson interval.
    lines = md.splitlines()
    rank_rows = [line for line in lines if re.match(r"^\| [123] \|", line)]
    assert [row.split("|")[2].strip() for row in rank_rows] == [
        "`careful` (simulated)",
        "`chatty`",
        "`sloppy`",
    ]
    assert "100% [68\u2013100%]" in rank_rows[0]
    # Matrix rows, top rules, failing samples.
    assert any(line.startswith("| `service-layer` |") and "0.0 · 0%" in line for line in lines)
    row = next(line for line in md.splitlines() if line.startswith("| `EXC002` | bare-except"))
    ci = fmt_ci(*wilson(5, 20))
    assert row.startswith(f"| `EXC002` | bare-except | 5 / 20 samples | 25% {ci} | ")
    assert float(row.split("|")[5]) > 0  # violations per 100 generated lines
    # A failing sample says how its score was made.
    assert "(EXC002 \u00d71 \u2717)" in md
    assert "### Failing samples (6)" in md
    assert f"EXC002 L{BAD_LINE}:5" in md
    assert "no-code: no code block" in md
    assert "<script>" not in md  # markdown escapes HTML


def test_summary_md_truncates(run: tuple[Run, dict[str, Path]]) -> None:
    r, _ = run
    md = render_markdown(r.meta, r.summary, iter_results(r.results_path), max_chars=900)
    assert len(md) <= 900
    assert md.rstrip().endswith("the full summary is in report.html._")


def test_summary_md_caps_failing_list(run: tuple[Run, dict[str, Path]]) -> None:
    r, _ = run
    md = render_markdown(r.meta, r.summary, iter_results(r.results_path), max_failing=2)
    assert "### Failing samples (6)" in md
    assert "- … and 4 more (see report.html)" in md


# --------------------------------------------------------------------------- junit


def test_junit_validates_against_the_schema(run: tuple[Run, dict[str, Path]]) -> None:
    _, paths = run
    xmlschema.XMLSchema(str(XSD)).validate(str(paths["junit"]))


def test_junit_schema_rejects_bad_documents(tmp_path: Path) -> None:
    schema = xmlschema.XMLSchema(str(XSD))
    bad = tmp_path / "bad.xml"
    bad.write_text('<testsuites><testsuite name="x"><testcase/></testsuite></testsuites>')
    assert not schema.is_valid(str(bad))  # tests= and testcase name= missing


def test_junit_content(run: tuple[Run, dict[str, Path]]) -> None:
    _, paths = run
    root = ET.parse(paths["junit"]).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "12",
        "4",
        "1",
        "1",
    )
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"pydantic-schema", "service-layer"}
    cases = {
        (tc.get("classname"), tc.get("name")): tc
        for s in suites.values()
        for tc in s.iter("testcase")
    }
    assert len(cases) == 12
    sloppy_edge = cases[("service-layer.sloppy", "edge")]
    failure = sloppy_edge.find("failure")
    assert failure is not None
    assert failure.get("message") == "2 of 2 samples failed"
    assert failure.text is not None and f"EXC002 {BAD_LINE}:5 " in failure.text
    no_code = cases[("pydantic-schema.chatty", "basic")].find("failure")
    assert no_code is not None and "no-code" in (no_code.text or "")
    error = cases[("service-layer.chatty", "basic")].find("error")
    assert error is not None and "RateLimitError" in (error.text or "")
    skipped = cases[("pydantic-schema.sloppy", "edge")].find("skipped")
    assert skipped is not None and "offline" in (skipped.get("message") or "")
    assert len(cases[("service-layer.careful", "basic")]) == 0  # passed: no child


def test_junit_streamed_is_the_tree(run: tuple[Run, dict[str, Path]]) -> None:
    r, paths = run
    tree = io.BytesIO()
    build_junit(r.meta, r.summary, iter_results(r.results_path)).write(
        tree, encoding="utf-8", xml_declaration=True
    )
    assert paths["junit"].read_bytes() == tree.getvalue()


def test_junit_of_an_empty_run(tmp_path: Path) -> None:
    r = build_run(tmp_path / "base")
    empty = tmp_path / "results.jsonl"
    empty.touch()
    paths = write_reports(tmp_path / "out", r.meta, r.summary, empty, formats=("junit",))
    xmlschema.XMLSchema(str(XSD)).validate(str(paths["junit"]))
    assert ET.parse(paths["junit"]).getroot().get("tests") == "0"


# --------------------------------------------------------------------------- html


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert match is not None
    return json.loads(match.group(1))


def test_html_escapes_the_payload(run: tuple[Run, dict[str, Path]]) -> None:
    _, paths = run
    html = paths["html"].read_text()
    assert PAYLOAD not in html
    assert "<script>window" not in html
    assert "<img" not in html
    assert "onerror=" not in html.replace("onerror=\\", "")  # only inside JSON strings
    # ... but the data still carries it, to be shown as text.
    data = _data(html)
    replies = [s["reply"] for s in data["samples"] if s["reply"]]
    assert any(PAYLOAD in r for r in replies)
    parser = _Tags()
    parser.feed(html)
    scripts = [a for t, a in parser.tags if t == "script"]
    assert len(scripts) == 2
    assert not any(t == "img" for t, _ in parser.tags)


def test_html_is_self_contained(run: tuple[Run, dict[str, Path]]) -> None:
    _, paths = run
    html = paths["html"].read_text()
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        for name in ("src", "href", "action", "poster", "data", "xlink:href"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, name, value)
        if tag == "script":
            assert "src" not in attrs
        if tag == "link":
            assert attrs.get("href", "").startswith("data:")
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html, re.I)
    assert "@import" not in html
    assert not re.search(r"(src|href)\s*=\s*['\"]?https?://", html, re.I)
    csp = next(a for t, a in parser.tags if t == "meta" and a.get("http-equiv"))
    assert "default-src 'none'" in (csp.get("content") or "")


def test_html_structure(run: tuple[Run, dict[str, Path]]) -> None:
    r, paths = run
    html = paths["html"].read_text()
    parser = _Tags()
    parser.feed(html)
    ids = {a.get("id") for _, a in parser.tags}
    for needed in ("matrix", "filters", "samples", "drilldown", "compare", "heatmap", "scatter"):
        assert needed in ids
    assert "simulated-banner" in ids
    cells = [a for t, a in parser.tags if t == "td" and "mcell" in (a.get("class") or "")]
    assert len(cells) == 6
    assert {a["data-model"] for a in cells} == {"careful", "chatty", "sloppy"}
    data = _data(html)
    assert len(data["samples"]) == r.summary.n
    assert "Why is this bad?" in data["rules"]["EXC002"]["docs"]
    assert len(data["prompts"]) == 4  # one per template x case, shared by models and samples


def test_html_caps_samples_failing_first(run: tuple[Run, dict[str, Path]]) -> None:
    r, _ = run
    html = render_html(r.meta, r.summary, iter_results(r.results_path), max_samples=5)
    data = _data(html)
    assert len(data["samples"]) == 5
    assert all(s["failed"] for s in data["samples"])
    assert [s["id"] for s in data["samples"]] == list(range(5))
    assert 'id="cap-note"' in html and "5 of 24 samples" in html
    html = render_html(r.meta, r.summary, iter_results(r.results_path), max_samples=8)
    data = _data(html)
    assert sum(s["failed"] for s in data["samples"]) == 6 and len(data["samples"]) == 8


@pytest.mark.parametrize("cap", [0, 1, 5, 8, 100])
def test_html_streamed_is_the_in_memory_page(
    run: tuple[Run, dict[str, Path]], tmp_path: Path, cap: int
) -> None:
    r, paths = run
    streamed = write_html(
        tmp_path / "report.html", r.meta, r.summary, r.results_path, max_samples=cap
    )
    page = render_html(r.meta, r.summary, iter_results(r.results_path), max_samples=cap)
    assert streamed.read_text(encoding="utf-8") == page
    if cap == 100:
        assert paths["html"].read_text(encoding="utf-8") == page
    assert len(_data(page)["samples"]) == min(cap, r.summary.n)


def _tiny(i: int, failed: bool, case: str) -> SampleResult:
    return SampleResult(
        template="t",
        template_hash="h",
        case=case,
        model="m",
        model_string="x/m",
        sample=i,
        key=str(i),
        status="scored",
        score=0.0 if failed else 100.0,
        passed=not failed,
    )


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.booleans(), st.sampled_from(["a", "b", "c"])), max_size=30),
    cap=st.integers(min_value=0, max_value=12),
)
def test_pick_samples_chooses_what_collect_samples_keeps(
    rows: list[tuple[bool, str]], cap: int
) -> None:
    results = [_tiny(i % 7, failed, case) for i, (failed, case) in enumerate(rows)]
    kept = collect_samples(results, {"t": 80.0}, cap)
    pick = pick_samples(results, {"t": 80.0}, cap)
    assert (pick.total, pick.failing, pick.shown) == (kept.total, kept.failing, kept.shown)
    by_id = sorted(pick.ids.items(), key=lambda item: item[1])
    assert [i for _, i in by_id] == list(range(pick.shown))
    picked = [results[pos] for pos, _ in by_id]
    assert [(s.case, s.sample, not s.passed) for s in picked] == [
        (s["case"], s["sample"], s["failed"]) for s in kept.samples
    ]


def test_html_streamed_caps_failing_first_in_page_order(tmp_path: Path) -> None:
    r = build_run(tmp_path / "base")
    path = tmp_path / "results.jsonl"
    with ResultsWriter(path) as writer:
        for i in range(40):
            writer.write(_tiny(i, i % 3 == 0, "abc"[i % 3]))
    page = write_html(tmp_path / "report.html", r.meta, r.summary, path, max_samples=10)
    data = _data(page.read_text(encoding="utf-8"))
    assert len(data["samples"]) == 10 and data["total"] == 40
    assert sum(s["failed"] for s in data["samples"]) == 10  # 14 failing: the cap is all failing
    keys = [(s["template"], s["model"], s["case"], s["sample"]) for s in data["samples"]]
    assert keys == sorted(keys)


def test_json_for_script() -> None:
    text = json_for_script({"a": "</script><b>&\u2028\u2029"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"a": "</script><b>&\u2028\u2029"}


# --------------------------------------------------------------------------- terminal


def test_terminal_table(run: tuple[Run, dict[str, Path]]) -> None:
    from rich.console import Console

    r, _ = run
    from harness.report.terminal import print_table

    console = Console(file=io.StringIO(), width=160, record=True, color_system=None)
    print_table(r.summary, console)
    text = console.export_text()
    assert "SIMULATED" in text
    lines = text.splitlines()
    ranked = [line.split() for line in lines if re.match(r"^\s*[123]\s", line)]
    assert [row[1] for row in ranked] == ["careful", "chatty", "sloppy"]
    assert ranked[0][2] == "\u2731"  # simulated mark
    assert ranked[0][3:6] == ["100.0", "100%", "[68\u2013100%]"]
    sloppy = r.summary.model("sloppy")
    assert sloppy is not None and sloppy.lines > 0
    density = f"{sloppy.findings_per_100_lines:.1f}"  # findings per 100 lines of code
    assert ranked[2][2:] == [
        "33.3",
        "33%",
        "[10\u201370%]",
        "0/0/0",
        density,
        "2",
        "$0.0120",
        "200/201",
    ]
    matrix = next(line for line in lines if "service-layer" in line)
    assert matrix.split()[1:] == ["100.0", "66.7", "0.0"]
    # Each model's most violated rules, with the interval.
    assert "Top violations per model" in text
    top = next(line for line in lines if line.split()[:2] == ["sloppy", "EXC002"])
    assert "[" in top and "%" in top


def test_html_marks_ruff_and_parse_errors(tmp_path: Path) -> None:
    from harness.record import ResultsWriter, SampleResult, UnitRecord
    from harness.scoring import aggregate

    r = build_run(tmp_path / "base")
    base = {"template_hash": "h", "model_string": "x/m", "prompt": ()}
    rows = [
        SampleResult(
            template="t",
            case="c",
            model="m",
            key="k1",
            status="scored",
            score=50.0,
            passed=False,
            applicable=("EXC002", "ruff"),
            findings=(
                Finding(
                    code="ruff:F821",
                    name="undefined-name",
                    message="Undefined name `x`",
                    line=2,
                    col=1,
                    end_line=2,
                    end_col=2,
                ),
            ),
            units=(UnitRecord(path="a.py", source="import os\nx\n"),),
            **base,
        ),
        SampleResult(
            template="t",
            case="c",
            model="m",
            sample=1,
            key="k2",
            status="parse-error",
            score=0.0,
            passed=False,
            detail="a.py:1:5: bad syntax",
            units=(UnitRecord(path="a.py", source="def (:\n", parse_error="bad syntax"),),
            **base,
        ),
    ]
    path = tmp_path / "results.jsonl"
    with ResultsWriter(path) as w:
        for row in rows:
            w.write(row)
    summary = aggregate(iter_results(path))
    assert summary.cell("t", "m").rule_counts["ruff"].violations == 1  # type: ignore[union-attr]
    data = _data(render_html(r.meta, summary, iter_results(path)))
    first, second = data["samples"]
    assert first["codes"] == ["ruff", "ruff:F821"]
    assert "ruff rule F821" in data["rules"]["ruff:F821"]["docs"]
    assert data["rules"]["ruff"]["name"] == "ruff-errors"
    assert second["failed"] and second["units"][0]["parse_error"] == "bad syntax"


def test_html_banner_for_failed_requests_and_no_empty_cost_chart(tmp_path: Path) -> None:
    from harness.record import ResultsWriter, SampleResult
    from harness.report.html import write_html
    from harness.scoring import aggregate

    r = build_run(tmp_path / "base")
    base = {"template_hash": "h", "model_string": "x/m", "prompt": (), "case": "c"}
    failed = [
        SampleResult(
            template="t",
            model="down",
            key=f"k{i}",
            sample=i,
            status="provider-error",
            error="down (127.0.0.1:9): connection refused",
            **base,
        )
        for i in range(2)
    ]
    path = tmp_path / "failed.jsonl"
    with ResultsWriter(path) as w:
        for s in failed:
            w.write(s)
    summary = aggregate(iter(failed))
    html = write_html(tmp_path / "report.html", r.meta, summary, path).read_text()
    assert 'id="failed-banner"' in html and "2 requests failed" in html
    assert "no sample got a result for down" in html
    assert 'id="scatter"' not in html  # no cost data: no empty chart


def test_heatmap_is_sorted_by_violation_rate_with_intervals() -> None:
    from harness.record import RuleScore, SampleResult
    from harness.report.html import _heatmap
    from harness.scoring import aggregate

    def sample(i: int, failing: str) -> SampleResult:
        breakdown = tuple(
            RuleScore(
                code=c, weight=1.0, source="house", outcome="fail" if c == failing else "pass"
            )
            for c in ("AAA001", "ZZZ001")
        )
        return SampleResult(
            template="t",
            template_hash="h",
            case="c",
            model="m",
            model_string="x/m",
            key=f"k{i}",
            sample=i,
            status="scored",
            score=50.0,
            passed=False,
            applicable=("AAA001", "ZZZ001"),
            breakdown=breakdown,
            lines=10,
        )

    summary = aggregate([sample(0, "ZZZ001"), sample(1, "ZZZ001"), sample(2, "AAA001")])
    rows = _heatmap(summary)
    assert [code for code, _, _ in rows] == ["ZZZ001", "AAA001"]  # most violated first
    assert rows[0][2][0].text.startswith("67% [")  # rate and its 95% interval
    assert "per 100 lines" in rows[0][2][0].title
