"""`harness evaluate` end to end: overhead vs a bare litellm loop, and peak memory.

    python benchmarks/bench_evaluate.py                      # 3000 @ 64 (3 rounds) + 20000 sim
    python benchmarks/bench_evaluate.py --calls 600 --rounds 1 --sim-samples 2000

(a) The fake OpenAI server runs in its own process (200 ms latency). One template with CALLS
    cases (distinct prompts, one sample each) runs against `openai/fake` at concurrency 64
    through `evaluate()` in a fresh subprocess with a fresh store, beside the bare
    asyncio + semaphore + litellm.acompletion loop of bench_runner.py. Reported: the run
    (first request to last result written) and end to end (templates loaded to every report
    written), as medians, and their ratios to the bare loop.
(b) `harness evaluate` on the shipped templates with the three simulated models (no latency)
    and enough samples for SIM_SAMPLES results, in a subprocess; peak RSS (ru_maxrss) of the
    command and of its check worker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_runner import bare, fake_server, warm_up  # noqa: E402

TEMPLATE = """\
id: bench
description: One prompt per case, for the benchmark.
template: |
  Write a pydantic model for entity number {{ n }}.
expect:
  role: schema
cases:
"""


def write_project(root: Path, api_base: str, calls: int, concurrency: int) -> Path:
    (root / "prompt_templates").mkdir(parents=True)
    cases = "".join(f"  - {{name: c{i}, vars: {{n: {i}}}}}\n" for i in range(calls))
    (root / "prompt_templates" / "bench.yaml").write_text(TEMPLATE + cases)
    (root / "harness.yaml").write_text(
        "templates_dir: prompt_templates\nreports_dir: reports\nstore: store.sqlite\n"
        "models:\n"
        f"  - {{alias: fake, model: openai/fake, api_base: '{api_base}',"
        f" max_concurrency: {concurrency}}}\n"
        f"limits: {{max_concurrency: {concurrency}, timeout: 60}}\n"
    )
    return root / "harness.yaml"


def child(variant: str, api_base: str, calls: int, concurrency: int) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-a-real-key")
    from harness.llm import load_litellm

    load_litellm()
    with tempfile.TemporaryDirectory() as tmp:
        if variant == "bare":

            async def run_bare() -> tuple[float, int, float]:
                await warm_up(api_base)
                cpu0 = _cpu()
                start = time.perf_counter()
                ok = await bare(api_base, calls, concurrency)
                return time.perf_counter() - start, ok, cpu0

            wall, ok, cpu0 = asyncio.run(run_bare())
            print(json.dumps({"wall": wall, "run": wall, "ok": ok, **_usage(cpu0)}))
            return
        from harness.config import load_config
        from harness.evaluate import EvalOptions, evaluate

        asyncio.run(warm_up(api_base))
        cpu0 = _cpu()
        config = load_config(write_project(Path(tmp), api_base, calls, concurrency))
        marks: dict[str, float] = {}

        def started(meta: object, run_dir: Path) -> None:
            marks["start"] = time.time()

        t0 = time.perf_counter()
        outcome = evaluate(config, EvalOptions(progress=False), on_start=started)
        wall = time.perf_counter() - t0
        results = outcome.run_dir / "results.jsonl"
        run = results.stat().st_mtime - marks["start"]  # first request to last result
        scored = outcome.summary.status_counts.get("scored", 0) if outcome.summary else 0
        print(json.dumps({"wall": wall, "run": run, "ok": scored, **_usage(cpu0)}))


def _cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def _usage(cpu0: float) -> dict[str, float]:
    """CPU seconds of this process since `cpu0`, of its finished children (the check worker
    and its ruff runs), and peak RSS in MB of this process and of its largest child."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cpu": me.ru_utime + me.ru_stime - cpu0,
        "cpu_children": kids.ru_utime + kids.ru_stime,
        "rss_mb": me.ru_maxrss / 1024,
        "rss_children_mb": kids.ru_maxrss / 1024,
    }


def run_child(variant: str, api_base: str, calls: int, concurrency: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", variant, "--api-base", api_base]
    cmd += ["--calls", str(calls), "--concurrency", str(concurrency)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["ok"] != calls:
        raise SystemExit(f"{variant}: only {result['ok']} of {calls} samples succeeded")
    return result


def overhead(calls: int, concurrency: int, rounds: int, latency: float) -> None:
    with fake_server(latency) as (_, api_base):
        keys = ("wall", "run", "cpu", "cpu_children", "rss_mb", "rss_children_mb")
        got: dict[str, dict[str, list[float]]] = {
            v: {k: [] for k in keys} for v in ("bare", "evaluate")
        }
        for rnd in range(rounds):
            order = ("bare", "evaluate") if rnd % 2 == 0 else ("evaluate", "bare")
            for variant in order:
                r = run_child(variant, api_base, calls, concurrency)
                for k in keys:
                    got[variant][k].append(r[k])
        floor = calls * latency / concurrency

        def med(variant: str, key: str) -> float:
            return statistics.median(got[variant][key])

        print(f"(a) {calls} requests @ concurrency {concurrency}, latency {latency * 1000:.0f} ms,")
        print(f"    {rounds} rounds, medians (floor {floor:.2f} s)")
        print(
            f"    {'variant':<10} {'run s':>7} {'end-to-end s':>13} {'min e2e s':>10}"
            f" {'CPU s':>7} {'worker CPU s':>13} {'peak RSS MB':>12}"
        )
        for name in ("bare", "evaluate"):
            rss = max(got[name]["rss_mb"])
            worker_rss = max(got[name]["rss_children_mb"]) if name == "evaluate" else 0.0
            print(
                f"    {name:<10} {med(name, 'run'):>7.2f} {med(name, 'wall'):>13.2f}"
                f" {min(got[name]['wall']):>10.2f} {med(name, 'cpu'):>7.2f}"
                f" {med(name, 'cpu_children') if name == 'evaluate' else 0.0:>13.2f}"
                f" {rss:>7.0f}" + (f" +{worker_rss:.0f}" if worker_rss else "")
            )
        b = med("bare", "wall")
        print(
            f"    ratio evaluate/bare: run {med('evaluate', 'run') / b:.3f},"
            f" end to end {med('evaluate', 'wall') / b:.3f},"
            f" main-process CPU {med('evaluate', 'cpu') / med('bare', 'cpu'):.3f}"
            f"  (target <= 1.05)   bare/floor: {b / floor:.2f}"
        )


def memory(samples_total: int) -> None:
    from harness.templates.loader import load_templates

    specs = load_templates([REPO / "prompt_templates"]).specs
    cells = sum(len(s.cases) for s in specs) * 3
    samples = max(1, -(-samples_total // cells))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "prompt_templates", root / "prompt_templates")
        (root / "harness.yaml").write_text(
            "templates_dir: prompt_templates\nreports_dir: reports\nstore: store.sqlite\n"
            "models:\n  - {alias: careful, model: sim/careful}\n"
            "  - {alias: sloppy, model: sim/sloppy}\n  - {alias: chatty, model: sim/chatty}\n"
            "limits: {max_concurrency: 64}\n"
        )
        cmd = [sys.executable, "-m", "harness.cli", "evaluate", "--samples", str(samples)]
        cmd += ["--no-progress", "--format", "json"]
        t0 = time.perf_counter()
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - t0
        if out.returncode != 0:
            raise SystemExit(f"evaluate failed:\n{out.stderr[-3000:]}")
        doc = json.loads(out.stdout)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        n = doc["summary"]["n"]
        print(f"(b) {n} simulated samples ({samples} per case x {cells} cells): {wall:.1f} s,")
        print(f"    {n / wall:.0f} samples/s, peak RSS {peak:.0f} MB  (target <= 300 MB)")
        print(f"    checked {doc['counts']['checked']}, memo hits {doc['counts']['memo_hits']}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--child", choices=("bare", "evaluate"))
    p.add_argument("--api-base")
    p.add_argument("--calls", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--latency", type=float, default=0.2)
    p.add_argument("--sim-samples", type=int, default=20000, help="0 skips (b)")
    p.add_argument("--skip-overhead", action="store_true")
    args = p.parse_args()
    if args.child:
        child(args.child, args.api_base, args.calls, args.concurrency)
        return
    if not args.skip_overhead:
        overhead(args.calls, args.concurrency, args.rounds, args.latency)
    if args.sim_samples:
        memory(args.sim_samples)


if __name__ == "__main__":
    main()
