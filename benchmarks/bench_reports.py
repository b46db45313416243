"""Report writers at scale: peak RSS and time of each writer over a synthetic results.jsonl.

    python benchmarks/bench_reports.py                      # 20000 samples
    python benchmarks/bench_reports.py --samples 4000 --rounds 3

A results.jsonl of SAMPLES realistic samples is synthesised once (templates x models x cases
x samples, ~80 lines of code per unit, ~3 KB replies, ~2 findings each, a few no-code,
parse-error and provider-error samples). Then each writer runs alone in a fresh subprocess:
the child imports harness.report, aggregates the summary (streamed) and calls
`write_reports(..., formats=(writer,))`, and prints its own peak RSS (ru_maxrss) and the time
the writer took. The baseline is a bare `python -c "import harness.report"` subprocess and a
child that only aggregates. Printed: medians over the rounds, and each writer's peak over the
baseline (target < 60 MB at 20000 samples).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.findings import Finding

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

WRITERS = ("json", "markdown", "junit", "sarif", "html")
TEMPLATES = tuple(f"template-{i}" for i in range(6))
MODELS = ("careful", "sloppy", "chatty")
CASES = ("basic", "edge", "nested", "bulk")
CODES = ("EXC001", "EXC002", "PYD001", "PYD006", "SQA006", "IDS001", "ruff:F401", "ruff:E501")
TARGET_MB = 60.0


def _code(rng: random.Random, n: int) -> str:
    lines = ['"""Generated service."""', "from app.repo import Repo", ""]
    while len(lines) < 80:
        k = rng.randrange(10_000)
        lines += [
            "",
            f"def handler_{n}_{k}(repo: Repo, item_id: int) -> dict:",
            f"    # fetch item {k} and shape the response for the caller",
            "    try:",
            f"        row = repo.get(item_id, version={k}, include_deleted=False)",
            "    except Exception:",
            "        return {}",
            f"    return {{'id': row.id, 'name': row.name, 'rank': {k}}}",
        ]
    return "\n".join(lines[:80]) + "\n"


def synthesize(path: Path, samples: int, seed: int = 7) -> int:
    """Write a results.jsonl of about `samples` lines; returns the number written."""
    from harness.record import ResultsWriter, SampleResult, UnitRecord, Usage

    rng = random.Random(seed)
    groups = [(t, m, c) for t in TEMPLATES for m in MODELS for c in CASES]
    per_group = -(-samples // len(groups))
    order = [(g, s) for g in groups for s in range(per_group)][:samples]
    rng.shuffle(order)  # results.jsonl is in finishing order, not sorted
    written = 0
    with ResultsWriter(path) as writer:
        for i, ((template, model, case), sample) in enumerate(order):
            base = {
                "template": template,
                "template_hash": f"hash-{template}",
                "case": case,
                "model": model,
                "model_string": f"sim/{model}",
                "simulated": model == "careful",
                "sample": sample,
                "key": f"{i:064x}",
                "prompt": (
                    {"role": "system", "content": "You write FastAPI backends. " * 20},
                    {"role": "user", "content": f"Write the {template} for {case}. " * 15},
                ),
                "usage": Usage(
                    prompt_tokens=400,
                    completion_tokens=700,
                    cost=0.0004 * (1 + MODELS.index(model)),
                    latency_ms=rng.uniform(100, 2000),
                ),
            }
            roll = rng.random()
            if roll < 0.01:
                writer.write(
                    SampleResult(status="provider-error", error="RateLimitError: 429", **base)
                )
            elif roll < 0.03:
                writer.write(
                    SampleResult(
                        status="no-code",
                        score=0.0,
                        passed=False,
                        reply="I cannot help with that. " * 100,
                        detail="no code block",
                        **base,
                    )
                )
            else:
                source = _code(rng, i)
                reply = f"Here is the service.\n```python\n{source}```\nIt handles errors.\n"
                reply += "Notes: " + "the repository is injected. " * 20
                broken = roll < 0.05
                findings = tuple(
                    Finding(
                        code=code,
                        name=code.removeprefix("ruff:").lower(),
                        message=f"{code} found in handler, see the rule docs",
                        line=line,
                        col=5,
                        end_line=line,
                        end_col=30,
                    )
                    for code, line in (
                        (rng.choice(CODES), rng.randrange(1, 80)),
                        (rng.choice(CODES), rng.randrange(1, 80)),
                    )
                )
                score = 0.0 if broken else rng.choice((50.0, 75.0, 87.5, 100.0))
                writer.write(
                    SampleResult(
                        status="parse-error" if broken else "scored",
                        score=score,
                        passed=score >= 80,
                        applicable=tuple(sorted({"EXC001", "EXC002", "PYD001", "ruff"})),
                        weights=dict.fromkeys(("EXC001", "EXC002", "PYD001", "ruff"), 1.0),
                        findings=() if broken else findings,
                        units=(
                            UnitRecord(
                                path="app/services/service.py",
                                source=source,
                                parse_error="12:5: invalid syntax" if broken else None,
                            ),
                        ),
                        reply=reply,
                        detail="app/services/service.py:12:5: invalid syntax" if broken else None,
                        **base,
                    )
                )
            written += 1
    return written


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(run_dir: Path, writer: str) -> None:
    import harness.report
    from harness.record import iter_results
    from harness.scoring import aggregate

    meta = _meta()
    results = run_dir / "results.jsonl"
    t0 = time.perf_counter()
    summary = aggregate(iter_results(results), meta.min_scores)
    aggregated = time.perf_counter() - t0
    before = _peak_mb()
    t1 = time.perf_counter()
    if writer != "none":
        out = run_dir / writer
        harness.report.write_reports(out, meta, summary, results, formats=(writer,))
    took = time.perf_counter() - t1
    print(
        json.dumps(
            {"aggregate_s": aggregated, "before_mb": before, "peak_mb": _peak_mb(), "s": took}
        )
    )


def _meta():  # type: ignore[no-untyped-def]
    from harness.record import ModelInfo, RunMeta

    return RunMeta(
        run_id="bench-reports",
        harness_version="0.0.0",
        started_at="2025-01-01T00:00:00Z",
        templates={t: f"hash-{t}" for t in TEMPLATES},
        min_scores=dict.fromkeys(TEMPLATES, 80.0),
        models=tuple(
            ModelInfo(alias=m, model=f"sim/{m}", simulated=m == "careful") for m in MODELS
        ),
    )


def _run(cmd: list[str]) -> dict[str, float]:
    env_cmd = [sys.executable, *cmd]
    t0 = time.perf_counter()
    out = subprocess.run(env_cmd, capture_output=True, text=True, cwd=REPO, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    lines = out.stdout.strip().splitlines()
    data: dict[str, float] = json.loads(lines[-1]) if lines else {}
    data["wall"] = wall
    return data


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--samples", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--writers", default=",".join(WRITERS))
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--run-dir", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.run_dir, args.child)
        return

    writers = [w for w in args.writers.split(",") if w]
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        t0 = time.perf_counter()
        n = synthesize(run_dir / "results.jsonl", args.samples)
        size = (run_dir / "results.jsonl").stat().st_size / 1e6
        made = time.perf_counter() - t0
        print(f"{n} samples, results.jsonl {size:.0f} MB (made in {made:.0f} s)")
        bare_cmd = [
            "-c",
            "import resource, json, harness.report; "
            "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
            "print(json.dumps({'peak_mb': peak}))",
        ]
        me = [str(Path(__file__).resolve()), "--run-dir", str(run_dir), "--child"]
        rows: dict[str, list[dict[str, float]]] = {"import": [], "aggregate": []}
        rows.update({w: [] for w in writers})
        for _ in range(args.rounds):
            rows["import"].append(_run(bare_cmd))
            rows["aggregate"].append(_run([*me, "none"]))
            for w in writers:
                rows[w].append(_run([*me, w]))

        def med(name: str, key: str) -> float:
            return statistics.median(r[key] for r in rows[name])

        base = med("import", "peak_mb")
        print(f"medians over {args.rounds} round(s); baseline = `import harness.report`")
        print(f"  {'step':<10} {'peak RSS MB':>12} {'over base MB':>13} {'writer s':>9}")
        print(f"  {'import':<10} {base:>12.0f} {0:>13.0f} {'':>9}")
        agg = med("aggregate", "peak_mb")
        print(
            f"  {'aggregate':<10} {agg:>12.0f} {agg - base:>13.0f}"
            f" {med('aggregate', 'aggregate_s'):>9.1f}"
        )
        worst = 0.0
        for w in writers:
            peak = med(w, "peak_mb")
            worst = max(worst, peak - base)
            print(f"  {w:<10} {peak:>12.0f} {peak - base:>13.0f} {med(w, 's'):>9.1f}")
        verdict = "ok" if worst < TARGET_MB else "OVER"
        print(f"  worst writer over baseline: {worst:.0f} MB (target < {TARGET_MB:.0f}) {verdict}")


if __name__ == "__main__":
    main()
