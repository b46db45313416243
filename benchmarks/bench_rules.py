"""Cost of the full rule engine next to a bare libcst parse, per unit of benchmarks/corpus/.

For each unit: the median over N interleaved repetitions of (a) `libcst.parse_module` alone and
(b) `check_unit` with every code rule (parse + facts + one batched pass + positions). Prints
per-unit medians, the median of the per-unit ratios and the aggregate ratio (sum of engine
medians / sum of parse medians; target <= 2.0), and the same units checked together as one
project (`check_units`: the symbol table, cross-unit facts) next to parsing them all. Then
ruff's batch cost: one `run_ruff` over the
whole corpus, divided by the number of units (median of several runs), next to the parse time.

    python benchmarks/bench_rules.py [-n 20] [--ruff-runs 5] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import time
from pathlib import Path

import libcst as cst

from harness.code.engine import RuleSet, check_unit, check_units
from harness.code.ruff import ruff_version, run_ruff
from harness.code.unit import CodeUnit
from harness.config import RulesConfig

CORPUS = Path(__file__).resolve().parent / "corpus"


def load_units() -> list[CodeUnit]:
    return [CodeUnit.from_path(p.name, p.read_text()) for p in sorted(CORPUS.glob("*.py"))]


def timed(fn: object, *args: object) -> float:
    start = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def bench_units(units: list[CodeUnit], ruleset: RuleSet, n: int) -> list[tuple[float, float]]:
    """(parse median, engine median) per unit; repetitions interleave the two measurements."""
    for unit in units:  # warm-up: imports, dispatch tables, libcst caches
        check_unit(unit, ruleset)
    parse_t: list[list[float]] = [[] for _ in units]
    engine_t: list[list[float]] = [[] for _ in units]
    gc.disable()
    try:
        for rep in range(n):
            for i, unit in enumerate(units):
                if rep % 2 == 0:
                    parse_t[i].append(timed(cst.parse_module, unit.source))
                    engine_t[i].append(timed(check_unit, unit, ruleset))
                else:
                    engine_t[i].append(timed(check_unit, unit, ruleset))
                    parse_t[i].append(timed(cst.parse_module, unit.source))
            gc.collect()
    finally:
        gc.enable()
    return [
        (statistics.median(p), statistics.median(e)) for p, e in zip(parse_t, engine_t, strict=True)
    ]


def bench_project(units: list[CodeUnit], ruleset: RuleSet, n: int) -> tuple[float, float]:
    """(median of parsing every unit, median of `check_units` over them as one project)."""
    check_units(units, ruleset)  # warm-up
    parse_t: list[float] = []
    project_t: list[float] = []
    sources = [u.source for u in units]
    for rep in range(n):
        runs = [
            (parse_t, lambda: [cst.parse_module(s) for s in sources]),
            (project_t, lambda: check_units(units, ruleset)),
        ]
        for times, fn in runs if rep % 2 == 0 else runs[::-1]:
            times.append(timed(fn))
    return statistics.median(parse_t), statistics.median(project_t)


def bench_ruff(units: list[CodeUnit], select: list[str], runs: int) -> float:
    run_ruff(units, select)  # warm-up
    return statistics.median(timed(run_ruff, units, select) for _ in range(runs)) / len(units)


def profile(units: list[CodeUnit], ruleset: RuleSet, reps: int = 30) -> None:
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(reps):
        for unit in units:
            check_unit(unit, ruleset)
    prof.disable()
    stats = pstats.Stats(prof)
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="repetitions per unit")
    parser.add_argument("--ruff-runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile the engine afterwards")
    args = parser.parse_args()

    units = load_units()
    ruleset = RuleSet.build()
    findings = {u.path: len(check_unit(u, ruleset).findings) for u in units}
    print(f"{len(units)} units, {len(ruleset.rules)} code rules, n={args.n}")
    print(f"{'unit':28} {'lines':>5} {'finds':>5} {'parse ms':>9} {'engine ms':>10} {'ratio':>6}")
    rows = bench_units(units, ruleset, args.n)
    for unit, (p, e) in zip(units, rows, strict=True):
        lines = unit.source.count("\n")
        print(
            f"{unit.path:28} {lines:5d} {findings[unit.path]:5d} "
            f"{p * 1e3:9.2f} {e * 1e3:10.2f} {e / p:6.2f}"
        )
    total_p = sum(p for p, _ in rows)
    total_e = sum(e for _, e in rows)
    print(f"median per-unit ratio engine/parse: {statistics.median(e / p for p, e in rows):.2f}")
    print(
        f"aggregate ratio (sum engine / sum parse): {total_e / total_p:.2f}  "
        f"[{total_e * 1e3:.1f} ms / {total_p * 1e3:.1f} ms]  target <= 2.0"
    )
    parse_all, project = bench_project(units, ruleset, args.n)
    print(
        f"project pass (check_units over all {len(units)} units as one project): "
        f"{project / len(units) * 1e3:.2f} ms per unit vs parse "
        f"{parse_all / len(units) * 1e3:.2f} ms: ratio {project / parse_all:.2f}  target <= 2.0"
    )
    select = list(RulesConfig().ruff_select)
    per_unit = bench_ruff(units, select, args.ruff_runs)
    mean_parse = total_p / len(units)
    print(
        f"ruff {ruff_version()} batch ({','.join(select)}): {per_unit * 1e3:.2f} ms per unit "
        f"(median of {args.ruff_runs} runs over {len(units)} units), "
        f"vs mean parse {mean_parse * 1e3:.2f} ms per unit: {per_unit / mean_parse:.2f}x"
    )
    if args.profile:
        profile(units, ruleset)


if __name__ == "__main__":
    main()
