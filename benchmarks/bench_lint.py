"""Cold-start cost of `harness lint prompt_templates/`, next to a bare interpreter.

Runs each command N times in a fresh subprocess and prints the medians and their ratio, then
shows which heavy modules the lint run imported (it must not import litellm, rich, libcst or
the code rules).

    python benchmarks/bench_lint.py [-n 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = [sys.executable, "-m", "harness.cli", "lint", "prompt_templates/"]
BARE = [sys.executable, "-c", "pass"]
HEAVY = ("litellm", "rich", "libcst", "harness.code.rules", "tiktoken")
PROBE = (
    "import sys\n"
    "from harness.cli import main\n"
    "code = main(['lint', 'prompt_templates/'])\n"
    "heavy = sorted({m.split('.')[0] if not m.startswith('harness') else m\n"
    f"    for m in sys.modules if m.startswith({HEAVY!r})}})\n"
    "print('exit', code, 'heavy modules:', heavy or 'none', file=sys.stderr)\n"
)


def median_seconds(cmd: list[str], n: int) -> tuple[float, int]:
    times = []
    code = 0
    for _ in range(n):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True)
        times.append(time.perf_counter() - start)
        code = proc.returncode
    return statistics.median(times), code


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=15, help="runs per command")
    args = parser.parse_args()

    subprocess.run(LINT, cwd=ROOT, capture_output=True)  # warm the bytecode cache once
    bare, _ = median_seconds(BARE, args.n)
    lint, code = median_seconds(LINT, args.n)
    print(f"runs per command         {args.n}")
    print(f"python -c pass           median {bare * 1000:7.1f} ms")
    print(f"harness lint (exit {code})   median {lint * 1000:7.1f} ms")
    print(f"ratio lint / bare        {lint / bare:7.1f}x")
    print(f"lint cost over bare      {(lint - bare) * 1000:7.1f} ms")

    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True)
    print(probe.stderr.strip().splitlines()[-1])
    timing = subprocess.run(
        [sys.executable, "-X", "importtime", *LINT[1:]], cwd=ROOT, capture_output=True, text=True
    )
    hits = [
        line.rsplit("|", 1)[-1].strip()
        for line in timing.stderr.splitlines()
        if line.startswith("import time:") and line.rsplit("|", 1)[-1].strip().startswith(HEAVY)
    ]
    print(f"-X importtime heavy imports: {hits or 'none'}")


if __name__ == "__main__":
    main()
