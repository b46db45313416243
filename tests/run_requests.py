"""End to end through the Runner without `evaluate`: build requests, run them, print stats.

    python -m tests.run_requests --api-base http://127.0.0.1:PORT/v1 --store s.sqlite --cases 50

Used by the kill/resume and SIGINT tests (in a subprocess) and handy by hand. Prints one JSON
line per result (`{"key":..., "ok":..., "cached":..., "kind":...}`) when --print-results, and
a final `STATS {...}` line.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Iterator

from harness.config import HarnessConfig, Limits, ModelConfig
from harness.llm.client import Runner
from harness.llm.store import Store
from harness.llm.types import Request, Response


def build_requests(models: list[ModelConfig], cases: int, samples: int) -> Iterator[Request]:
    for case in range(cases):
        messages = [
            {"role": "system", "content": "You write Python."},
            {"role": "user", "content": f"Write function number {case}."},
        ]
        for model in models:
            for sample in range(samples):
                yield Request.make(model, messages, {"temperature": 0.7}, sample, tag=case)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--api-base", required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--cases", type=int, default=20)
    p.add_argument("--samples", type=int, default=1)
    p.add_argument("--models", default="fake")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--offline", action="store_true")
    p.add_argument("--print-results", action="store_true")
    args = p.parse_args(argv)

    models = [
        ModelConfig(
            alias=name,
            model=f"openai/{name}",
            api_base=args.api_base,
            max_concurrency=args.concurrency,
        )
        for name in args.models.split(",")
    ]
    config = HarnessConfig(
        models=tuple(models),
        limits=Limits(max_concurrency=args.concurrency, timeout=args.timeout, max_attempts=4),
    )

    def on_result(req: Request, resp: Response) -> None:
        if args.print_results:
            line = {"key": req.key, "ok": resp.ok, "cached": resp.cached, "kind": resp.error_kind}
            print(json.dumps(line), flush=True)

    store = Store(args.store)
    runner = Runner(config, store, offline=args.offline, progress=False, backoff_base=0.05)
    try:
        stats = asyncio.run(runner.run(build_requests(models, args.cases, args.samples), on_result))
    finally:
        store.close()
    print("STATS " + json.dumps(dataclasses.asdict(stats)), flush=True)
    if stats.interrupted:
        print(
            f"resume with: python -m tests.run_requests --store {args.store} ...", file=sys.stderr
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
