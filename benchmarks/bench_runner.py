"""Runner overhead vs a bare asyncio + semaphore + litellm.acompletion loop.

    python benchmarks/bench_runner.py                      # 3000 @ 64 and 300 @ 16, 3 rounds
    python benchmarks/bench_runner.py --sizes 600x64 --rounds 1

The fake OpenAI server runs in its own process (200 ms latency). Each variant runs in its own
subprocess (fresh interpreter, fresh temp store: no cache hits) and reports its wall time and
peak RSS; variants alternate within each round. Prints medians, the ratio and the floor
(calls x latency / concurrency).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODEL = "openai/fake"


def messages(i: int) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You write Python backend code."},
        {"role": "user", "content": f"Write a pydantic model for entity number {i}."},
    ]


async def bare(api_base: str, calls: int, concurrency: int) -> int:
    import litellm

    sem = asyncio.Semaphore(concurrency)
    ok = 0

    async def one(i: int) -> None:
        nonlocal ok
        async with sem:
            r = await litellm.acompletion(
                model=MODEL,
                messages=messages(i),
                api_base=api_base,
                timeout=60,
                num_retries=0,
                max_retries=0,
            )
            ok += bool(r.choices[0].message.content)

    await asyncio.gather(*(one(i) for i in range(calls)))
    return ok


async def runner(api_base: str, calls: int, concurrency: int, store_path: str) -> int:
    from harness.config import HarnessConfig, Limits, ModelConfig
    from harness.llm.client import Runner
    from harness.llm.store import Store
    from harness.llm.types import Request, Response

    model = ModelConfig(alias="fake", model=MODEL, api_base=api_base, max_concurrency=concurrency)
    config = HarnessConfig(models=(model,), limits=Limits(max_concurrency=concurrency, timeout=60))
    ok = 0

    def on_result(req: Request, resp: Response) -> None:
        nonlocal ok
        ok += resp.ok

    store = Store(store_path)
    requests = (Request.make(model, messages(i), {}, 0) for i in range(calls))
    await Runner(config, store, progress=None).run(requests, on_result)
    await asyncio.to_thread(store.close)
    return ok


async def warm_up(api_base: str) -> None:
    import litellm

    await litellm.acompletion(
        model=MODEL, messages=messages(-1), api_base=api_base, num_retries=0, max_retries=0
    )


def child(variant: str, api_base: str, calls: int, concurrency: int) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-a-real-key")
    if variant == "runner":
        # Import our modules before the clock starts, as the bare variant imports litellm:
        # the comparison is per call, not start-up.
        import harness.config
        import harness.llm.client
        import harness.llm.progress
        import harness.llm.store  # noqa: F401
        from harness.llm import load_litellm

        load_litellm()
    else:
        import litellm  # noqa: F401

    cpu_before = 0.0
    with tempfile.TemporaryDirectory() as tmp:

        async def main() -> tuple[float, int]:
            nonlocal cpu_before
            await warm_up(api_base)
            u = resource.getrusage(resource.RUSAGE_SELF)
            cpu_before = u.ru_utime + u.ru_stime
            start = time.perf_counter()
            if variant == "bare":
                ok = await bare(api_base, calls, concurrency)
            else:
                ok = await runner(api_base, calls, concurrency, f"{tmp}/store.sqlite")
            return time.perf_counter() - start, ok

        wall, ok = asyncio.run(main())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    print(json.dumps({"wall": wall, "ok": ok, "rss_mb": usage.ru_maxrss / 1024, "cpu": cpu}))


def run_child(variant: str, api_base: str, calls: int, concurrency: int) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        variant,
        "--api-base",
        api_base,
        "--calls",
        str(calls),
        "--concurrency",
        str(concurrency),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["ok"] != calls:
        raise SystemExit(f"{variant}: only {result['ok']} of {calls} calls succeeded")
    return result


@contextlib.contextmanager
def fake_server(latency: float) -> Iterator[tuple[int, str]]:
    """The fake OpenAI server in its own process: (pid, api_base) while the block runs."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_openai", "--latency", str(latency)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[1])
        yield server.pid, f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--child", choices=("bare", "runner"))
    p.add_argument("--api-base")
    p.add_argument("--calls", type=int, default=0)
    p.add_argument("--concurrency", type=int, default=0)
    p.add_argument("--sizes", default="3000x64,300x16", help="CALLSxCONCURRENCY,...")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--latency", type=float, default=0.2)
    args = p.parse_args()
    if args.child:
        child(args.child, args.api_base, args.calls, args.concurrency)
        return

    with fake_server(args.latency) as (pid, api_base):
        print(f"fake server pid {pid} at {api_base}, latency {args.latency * 1000:.0f} ms")
        for size in args.sizes.split(","):
            calls, conc = (int(x) for x in size.split("x"))
            walls: dict[str, list[float]] = {"bare": [], "runner": []}
            rss: dict[str, list[float]] = {"bare": [], "runner": []}
            cpu: dict[str, list[float]] = {"bare": [], "runner": []}
            for rnd in range(args.rounds):
                order = ("bare", "runner") if rnd % 2 == 0 else ("runner", "bare")
                for variant in order:
                    r = run_child(variant, api_base, calls, conc)
                    walls[variant].append(r["wall"])
                    rss[variant].append(r["rss_mb"])
                    cpu[variant].append(r["cpu"])
            floor = calls * args.latency / conc
            b, o = statistics.median(walls["bare"]), statistics.median(walls["runner"])
            print(
                f"\n{calls} calls @ concurrency {conc}, {args.rounds} rounds (floor {floor:.2f} s)"
            )
            print(
                f"  {'variant':<8} {'median s':>9} {'min s':>7} {'max s':>7}"
                f" {'peak RSS MB':>12} {'CPU s':>6}"
            )
            for name in ("bare", "runner"):
                w = walls[name]
                print(
                    f"  {name:<8} {statistics.median(w):>9.2f} {min(w):>7.2f} {max(w):>7.2f}"
                    f" {max(rss[name]):>12.0f} {statistics.median(cpu[name]):>6.2f}"
                )
            c = statistics.median(cpu["runner"]) / statistics.median(cpu["bare"])
            print(
                f"  ratio runner/bare: wall {o / b:.3f}, CPU {c:.3f} (target <= 1.05)"
                f"   bare/floor: {b / floor:.2f}"
            )


if __name__ == "__main__":
    main()
