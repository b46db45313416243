"""`harness check`: evaluate what changed against golden/, replaying what did not.

Unchanged templates (same content hash as their baseline) are answered from the recorded
responses in golden/recordings/; changed or new templates are run for real (or against the
simulated models). The verdict comes from harness.regress.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.config import HarnessConfig
from harness.errors import ConfigError
from harness.golden import TemplateBaseline, cells_of, read_baselines
from harness.record import SampleResult, iter_results
from harness.regress import Change, GateResult, Kind, compare


@dataclass(frozen=True, slots=True)
class RegressionExample:
    """One finding that illustrates a regression."""

    template: str
    model: str
    case: str
    sample: int
    code: str
    message: str
    line: int
    path: str
    excerpt: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    gate: GateResult
    run_dir: Path
    examples: dict[tuple[str, str, str], RegressionExample]
    evaluate_exit: int


def _excerpt(
    r: SampleResult, unit: int, line: int, context: int = 2
) -> tuple[tuple[int, str], ...]:
    if unit >= len(r.units):
        return ()
    lines = r.units[unit].source.splitlines()
    lo, hi = max(1, line - context), min(len(lines), line + context)
    return tuple((n, lines[n - 1]) for n in range(lo, hi + 1))


def find_examples(
    results: Path, regressions: Sequence[Change]
) -> dict[tuple[str, str, str], RegressionExample]:
    """First sample showing each regressed rule (or, for pass rate, any failing finding)."""
    wanted = {(c.template, c.model, c.metric) for c in regressions}
    found: dict[tuple[str, str, str], RegressionExample] = {}
    if not wanted or not results.exists():
        return found
    for r in iter_results(results):
        for f in r.findings:
            for metric in (f.code, "pass-rate"):
                key = (r.template, r.model, metric)
                if key in wanted and key not in found:
                    if metric == "pass-rate" and r.passed:
                        continue
                    path = r.units[f.unit].path if f.unit < len(r.units) else "generated.py"
                    found[key] = RegressionExample(
                        r.template,
                        r.model,
                        r.case,
                        r.sample,
                        f.code,
                        f.message,
                        f.line,
                        path,
                        _excerpt(r, f.unit, f.line),
                    )
        if len(found) == len(wanted):
            break
    return found


def run_check(
    config: HarnessConfig,
    *,
    templates: Sequence[str] = (),
    models: Sequence[str] = (),
    offline: bool = False,
    out: Path | None = None,
    progress: bool | None = None,
) -> CheckOutcome:
    from harness.evaluate import EvalOptions, evaluate
    from harness.llm.store import Store
    from harness.plan import Selection, select_templates

    golden_dir = config.path(config.golden_dir)
    baselines: dict[str, TemplateBaseline] = read_baselines(golden_dir)
    if not baselines:
        raise ConfigError(
            f"no golden baselines in {golden_dir}",
            hint="bless a run first: harness golden update",
        )
    specs = select_templates(config, Selection(templates=tuple(templates)))
    replayed = tuple(
        s.id
        for s in specs
        if s.id in baselines and baselines[s.id].template_hash == s.content_hash()
    )
    rerun = tuple(s.id for s in specs if s.id not in replayed)
    store = Store(config.path(config.store))
    try:
        for tid in replayed:
            recording = golden_dir / baselines[tid].recordings
            if recording.exists():
                store.import_(recording)
        model_names = tuple(models) or tuple(
            sorted(
                {m for tid in replayed for m in baselines[tid].models}
                | {m.alias for m in config.models}
            )
        )
        outcome = evaluate(
            config,
            EvalOptions(
                selection=Selection(templates=tuple(s.id for s in specs), models=model_names),
                offline=offline,
                out=out,
                progress=progress,
            ),
            store=store,
        )
    finally:
        store.close()
    if outcome.summary is None:
        raise KeyboardInterrupt
    model_strings = {m.alias: m.model for m in outcome.meta.models}
    cells = cells_of(outcome.summary, model_strings)
    verdicts = compare(baselines, cells, config.gate)
    results = outcome.run_dir / "results.jsonl"
    requests = calls = 0
    for r in iter_results(results):
        requests += 1
        calls += r.status not in ("not-recorded",) and not r.usage.cached
    gate = GateResult(
        cells=tuple(verdicts),
        replayed=replayed,
        rerun=rerun,
        requests=requests,
        model_calls=calls,
        simulated=tuple(m.alias for m in outcome.meta.models if m.simulated),
    )
    return CheckOutcome(
        gate, outcome.run_dir, find_examples(results, gate.regressions), outcome.exit_code
    )


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _metric_label(metric: str) -> str:
    if metric == "pass-rate":
        return "pass rate"
    from harness.registry import by_name_or_code

    rule = by_name_or_code(metric)
    return f"`{metric}` {rule.name}" if rule is not None else f"`{metric}`"


def render_markdown(outcome: CheckOutcome) -> str:
    g = outcome.gate
    regs, imps = g.regressions, g.improvements
    if regs:
        head = f"### ❌ Prompt regression gate: {len(regs)} regression(s)"
    elif g.no_verdict:
        head = "### ⚠️ Prompt regression gate: no verdict for some cells"
    else:
        head = "### ✅ Prompt regression gate: no regression"
    lines = [head, ""]
    if g.simulated:
        names = ", ".join(f"`{m}`" for m in g.simulated)
        lines += [f"> **SIMULATED**: {names} are simulated models, not real ones.", ""]
    lines.append(
        f"Replayed from golden: {', '.join(g.replayed) or 'none'} · "
        f"run for real: {', '.join(g.rerun) or 'none'} · "
        f"{g.requests} requests, {g.model_calls} model calls."
    )
    changes = [c for cell in g.cells for c in cell.changes if c.kind is not Kind.NOISE]
    if changes:
        lines += [
            "",
            "| | template | model | metric | baseline | now | samples | p | why |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for c in sorted(changes, key=lambda c: (c.kind != Kind.REGRESSION, c.template, c.model)):
            icon = "❌" if c.kind is Kind.REGRESSION else "✅"
            metric = _metric_label(c.metric)
            if c.metric != "pass-rate":
                metric += " (violation rate)"
            p = "" if c.p_value is None else f"{c.p_value:.3f}"
            model = f"{c.model} (simulated)" if c.model in g.simulated else c.model
            lines.append(
                f"| {icon} | {c.template} | {model} | {metric} | {_pct(c.baseline)} | "
                f"{_pct(c.current)} | {c.baseline_n}→{c.current_n} | {p} | {c.reason} |"
            )
    new = [c for c in g.cells if c.status in ("new-template", "new-model")]
    if new:
        lines += ["", "New (no baseline yet): " + ", ".join(f"{c.template}/{c.model}" for c in new)]
    for c in g.no_verdict:
        lines.append(f"- ⚠️ {c.template}/{c.model}: {c.note}")
    for c in regs:
        ex = outcome.examples.get((c.template, c.model, c.metric))
        if ex is None:
            continue
        lines += [
            "",
            f"<details><summary>Example: {ex.template} / {ex.model} / case {ex.case} "
            f"#{ex.sample}: {ex.code} at {ex.path}:{ex.line}</summary>",
            "",
            f"{ex.message}",
            "",
            "```python",
            *(f"{n:4d}{'>' if n == ex.line else ' '} {text}" for n, text in ex.excerpt),
            "```",
            "</details>",
        ]
    if imps and not regs:
        lines += ["", f"{len(imps)} improvement(s)."]
    return "\n".join(lines) + "\n"


def render_text(outcome: CheckOutcome) -> str:
    g = outcome.gate
    out = []
    if g.simulated:
        out.append(f"SIMULATED: {', '.join(g.simulated)} are simulated models, not real ones")
    for cell in g.cells:
        if cell.status != "compared":
            out.append(f"{cell.template}/{cell.model}: {cell.status} {cell.note}".rstrip())
            continue
        for c in cell.changes:
            out.append(
                f"{c.kind.value.upper():12} {c.template}/{c.model} {c.metric}: "
                f"{_pct(c.baseline)} -> {_pct(c.current)} ({c.reason})"
            )
    for c in g.regressions:
        ex = outcome.examples.get((c.template, c.model, c.metric))
        if ex is not None:
            out.append(f"  e.g. {ex.path}:{ex.line}: {ex.code} {ex.message} (case {ex.case})")
    verdict = {0: "no regression", 1: "REGRESSION", 3: "no verdict (provider errors)"}
    out.append(
        f"{verdict[g.exit_code]}: {len(g.regressions)} regression(s), "
        f"{len(g.improvements)} improvement(s); replayed {len(g.replayed)} template(s), "
        f"ran {len(g.rerun)} template(s) for real; {g.model_calls} model call(s) for {g.requests} "
        "request(s)"
    )
    return "\n".join(out) + "\n"


def render_json(outcome: CheckOutcome) -> str:
    """The verdict as JSON: exit code, every compared cell and its changes with statistics."""
    import json

    g = outcome.gate
    data = {
        "exit_code": g.exit_code,
        "regressions": len(g.regressions),
        "improvements": len(g.improvements),
        "replayed": list(g.replayed),
        "rerun": list(g.rerun),
        "requests": g.requests,
        "model_calls": g.model_calls,
        "simulated": list(g.simulated),
        "run_dir": str(outcome.run_dir),
        "cells": [
            {
                "template": cell.template,
                "model": cell.model,
                "status": cell.status,
                "note": cell.note,
                "changes": [
                    {
                        "metric": c.metric,
                        "baseline": c.baseline,
                        "current": c.current,
                        "baseline_n": c.baseline_n,
                        "current_n": c.current_n,
                        "p_value": c.p_value,
                        "kind": c.kind.value,
                        "reason": c.reason,
                    }
                    for c in cell.changes
                ],
            }
            for cell in g.cells
        ],
    }
    return json.dumps(data, indent=2)
