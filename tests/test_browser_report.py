"""Drive report.html in headless Chromium: filters, drill-down, side by side, no XSS, offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.report import write_reports
from tests.report_run import BAD_LINE, CASES, MODELS, PAYLOAD, TEMPLATES, XSS_CELL, build_run

SCREENSHOT = Path(__file__).resolve().parent.parent / "reports" / "report-screenshot.png"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "chromium is not installed: the HTML report test needs it "
            "(Debian: `apt-get install chromium`)",
            pytrace=False,
        )
    return path


@pytest.mark.browser
def test_report_in_browser(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    run = build_run(tmp_path / "run")
    paths = write_reports(run.run_dir, run.meta, run.summary, run.results_path)
    url = paths["html"].resolve().as_uri()

    console_errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on(
                "console",
                lambda msg: console_errors.append(msg.text) if msg.type == "error" else None,
            )
            page.on("pageerror", lambda exc: console_errors.append(str(exc)))

            def record(route, request):  # type: ignore[no-untyped-def]
                requests.append(request.url)
                if request.url == url:
                    route.continue_()
                else:
                    route.abort()

            page.route("**/*", record)
            page.goto(url)
            page.wait_for_selector("#samples tbody tr")

            # Simulated banner and the overview matrix.
            assert page.locator("#simulated-banner").is_visible()
            assert page.locator("#matrix td.mcell").count() == len(TEMPLATES) * len(MODELS)
            assert page.locator("#matrix thead th").count() == len(MODELS) + 1

            rows = page.locator("#samples tbody tr")
            total = len(TEMPLATES) * len(MODELS) * len(CASES) * 2
            assert rows.count() == total
            assert page.locator("#samples tbody tr:not([hidden])").count() == total

            # Model filter hides the other models' rows.
            page.select_option("#f-model", "sloppy")
            visible = page.locator("#samples tbody tr:not([hidden])")
            assert visible.count() == total // len(MODELS)
            assert set(visible.evaluate_all("rs => rs.map(r => r.dataset.model)")) == {"sloppy"}
            page.select_option("#f-model", "")

            # "Failing only" hides passing rows: 6 failing samples in the fixture.
            page.check("#f-failing")
            failing = page.locator("#samples tbody tr:not([hidden])")
            assert failing.count() == 6
            assert set(failing.evaluate_all("rs => rs.map(r => r.dataset.failed)")) == {"1"}
            page.uncheck("#f-failing")

            # Rule filter.
            page.select_option("#f-rule", "EXC002")
            assert page.locator("#samples tbody tr:not([hidden])").count() == 5
            page.select_option("#f-rule", "")

            # Matrix cells are coloured by pass / fail, with a legend.
            assert page.locator("#matrix-legend").is_visible()
            cell = page.locator('#matrix td.mcell[data-template="service-layer"]')
            classes = cell.evaluate_all("cs => cs.map(c => c.className)")
            assert {c.split()[-1] for c in classes} <= {"pass", "fail", "none"}
            sloppy = page.locator(
                '#matrix td.mcell[data-template="service-layer"][data-model="sloppy"]'
            )
            assert "fail" in (sloppy.get_attribute("class") or "")  # mean 0: every sample fails
            # The heat map, all templates and each on its own, filters the samples on click.
            # It lists only rules that applied, most violated first, with intervals.
            assert page.locator("table.heat.by-template").count() == len(TEMPLATES)
            for table in page.locator("table.heat").all():
                for tr in table.locator("tbody tr").all():
                    texts = tr.locator("td").all_inner_texts()
                    assert any(t != "\u2013" for t in texts)  # applied somewhere
                    assert all(t == "\u2013" or "[" in t for t in texts)  # rate [CI]
                # Each row's rate over its models, from the cells' "violated in V of A" titles.
                rates = table.locator("tbody tr").evaluate_all(
                    "rs => rs.map(r => { let v = 0, a = 0;"
                    " r.querySelectorAll('td').forEach(td => {"
                    " const m = /violated in (\\d+) of (\\d+)/.exec(td.title || '');"
                    " if (m) { v += +m[1]; a += +m[2]; } }); return a ? v / a : 0; })"
                )
                assert rates == sorted(rates, reverse=True)
            page.select_option("#f-model", "sloppy")
            page.select_option("#f-rule", "EXC002")
            expected = page.locator("#samples tbody tr:not([hidden])").count()
            page.click("#f-reset")
            page.click('#heatmap td.hcell[data-code="EXC002"][data-model="sloppy"]')
            assert page.input_value("#f-rule") == "EXC002"
            assert page.input_value("#f-model") == "sloppy"
            assert page.locator("#samples tbody tr:not([hidden])").count() == expected > 0
            page.click(
                'table.by-template[data-template="service-layer"] td.hcell[data-model="sloppy"]'
            )
            assert page.input_value("#f-template") == "service-layer"
            page.click("#f-reset")
            # Clicking a matrix cell filters to that template x model.
            page.click('#matrix td.mcell[data-template="service-layer"][data-model="chatty"]')
            cell_rows = page.locator("#samples tbody tr:not([hidden])")
            assert cell_rows.count() == len(CASES) * 2
            assert page.input_value("#f-template") == "service-layer"
            page.click("#f-reset")

            # Drill-down on the sample carrying the payload.
            template, model, case, sample = XSS_CELL
            row = page.locator(
                f'#samples tr[data-template="{template}"][data-model="{model}"]'
                f'[data-case="{case}"][data-sample="{sample}"]'
            )
            row.click()
            drill = page.locator("#drilldown")
            assert drill.is_visible()
            flagged = drill.locator(f'.code-line[data-line="{BAD_LINE}"].has-finding')
            assert flagged.count() == 1
            assert drill.locator(".code-line.has-finding").count() == 1
            assert "except:" in flagged.inner_text()
            msg = drill.locator(f'.finding-msg[data-line="{BAD_LINE}"]')
            assert "EXC002" in msg.inner_text()
            # Rule docs embedded for the finding.
            drill.locator('ul.findings li[data-code="EXC002"] summary').click()
            assert "Why is this bad?" in drill.locator("ul.findings .docs").inner_text()
            # The payload shows as text in the reply, the prompt and the code.
            assert PAYLOAD in drill.locator("#raw-reply").inner_text()
            assert PAYLOAD in drill.locator(".msg pre").nth(1).inner_text()
            assert drill.locator("img").count() == 0
            assert page.locator("script").count() == 2  # data + the page's own script
            assert page.evaluate("typeof window.__pwned") == "undefined"

            # Side by side: the drill-down's compare button, then pick two models.
            page.click("#to-compare")
            page.select_option("#cmp-template", "service-layer")
            page.select_option("#cmp-case", "edge")
            page.select_option("#cmp-a", "careful")
            page.select_option("#cmp-b", "sloppy")
            left = page.locator("#cmp-left")
            right = page.locator("#cmp-right")
            assert left.get_attribute("data-model") == "careful"
            assert right.get_attribute("data-model") == "sloppy"
            assert left.locator(".code-line").count() > 0
            assert left.locator(".code-line.has-finding").count() == 0
            assert right.locator(f'.code-line[data-line="{BAD_LINE}"].has-finding').count() == 1

            # From sample #1, the compare button opens sample #1 of the other model too,
            # and the sample selector picks another index for both panes.
            page.locator(
                '#samples tr[data-template="service-layer"][data-model="careful"]'
                '[data-case="edge"][data-sample="1"]'
            ).click()
            page.click("#to-compare")
            assert page.input_value("#cmp-sample") == "1"
            assert "sample #1" in page.locator("#cmp-left").inner_text()
            assert "sample #1" in page.locator("#cmp-right").inner_text()
            page.select_option("#cmp-sample", "0")
            assert "sample #0" in page.locator("#cmp-right").inner_text()

            page.locator("#drilldown").scroll_into_view_if_needed()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            assert page.evaluate("typeof window.__pwned") == "undefined"
        finally:
            browser.close()

    assert console_errors == []
    assert requests == [url]


@pytest.mark.browser
def test_failed_requests_banner_no_empty_cost_chart_and_wrapped_lines(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from harness.record import ResultsWriter, SampleResult, UnitRecord
    from harness.report.html import write_html
    from harness.scoring import aggregate

    run = build_run(tmp_path / "run")
    base = {"template_hash": "h", "model_string": "x/m", "prompt": (), "case": "c"}
    long_line = "x = " + "1 + " * 400 + "1\n"
    samples = [
        SampleResult(
            template="t",
            model="down",
            key="k0",
            sample=0,
            status="provider-error",
            error="down (127.0.0.1:9): connection refused",
            **base,
        ),
        SampleResult(
            template="t",
            model="up",
            key="k1",
            sample=0,
            status="scored",
            score=100.0,
            passed=True,
            units=(UnitRecord(path="a.py", source=long_line),),
            **base,
        ),
    ]
    path = tmp_path / "results.jsonl"
    with ResultsWriter(path) as w:
        for sample in samples:
            w.write(sample)
    html = write_html(tmp_path / "report.html", run.meta, aggregate(iter(samples)), path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            page.goto(html.resolve().as_uri())
            banner = page.locator("#failed-banner")
            assert banner.is_visible() and "1 request failed" in banner.inner_text()
            assert page.locator("#scatter").count() == 0  # no costs: no empty chart
            page.locator('#samples tr[data-model="up"]').click()
            src = page.locator("#drilldown .code-line .src").first
            assert src.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
            box = src.bounding_box()
            assert box is not None and box["width"] <= 1000  # wrapped, not cut off
            page.screenshot(path=str(SCREENSHOT.with_name("report-failed-screenshot.png")))
        finally:
            browser.close()
