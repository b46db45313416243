"""False alarms and power of the gate's test: unpaired (the old one) against stratified by case.

Simulates `--trials` gate decisions on one rule's violation rate, each a baseline run and a
current run of `--cases` cases x `--samples` samples. Cases differ in difficulty: each
trial draws every case's baseline violation rate so that the rates spread around
`--base-rate` (some cases never fail, some often do). Two scenarios:
  - no change: the current run has the same per-case rates;
  - a real drop: in half the cases the rate rises by `--rise` (10% -> 40% by default).
  - no change, but the current run lost samples of its easiest third of cases (say,
    provider errors), so the two runs mix the cases differently.
Both tests run through `harness.regress` on the same simulated runs, with the margin and
alpha of the default gate config (the pass rate and the rule move together: two comparisons
under the Holm correction). Prints, side by side, each test's false-alarm rate (no change)
and power (a real drop). A last row gives the stratified test's power at the old test's
false-alarm rate: its alpha is lowered, by bisection over the no-change trials, until it
raises no more false alarms than the old test did. Last, both tests over a sweep of alpha
(`--sweep`): their false alarms and power trace each test's curve, so that power can be
read at equal false-alarm rates despite the tests' discrete steps.

    python benchmarks/bench_gate.py [--trials 1000] [--cases 10] [--samples 3] [--seed 1]
        [--concentration K]
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence

from harness.config import GateConfig
from harness.golden import CaseBaseline, CellBaseline, RuleBaseline
from harness.regress import Kind, compare_cell

RULE = "EXC001"


def case_rates(
    rng: random.Random, cases: int, base_rate: float, concentration: float | None = None
) -> list[float]:
    """Per-case violation rates with mean about `base_rate`, spread by case difficulty.

    With `concentration`, rates are Beta-distributed with that a + b: the smaller, the more
    cases never fail and the more nearly always do."""
    if concentration:
        a, b = base_rate * concentration, (1 - base_rate) * concentration
        return [min(0.95, rng.betavariate(a, b)) for _ in range(cases)]
    weights = [rng.random() ** 2 for _ in range(cases)]  # a few hard cases, many easy ones
    scale = base_rate * cases / sum(weights)
    return [min(0.95, w * scale) for w in weights]


def run(
    rng: random.Random, rates: Sequence[float], samples: Sequence[int], *, paired: bool
) -> CellBaseline:
    """One simulated run of a cell: per case, `samples[k]` scored samples with these
    violation rates. A sample passes when the rule is not violated."""
    cases = {}
    total_v = 0
    for k, rate in enumerate(rates):
        v = sum(rng.random() < rate for _ in range(samples[k]))
        total_v += v
        cases[f"case{k}"] = CaseBaseline(
            n_scored=samples[k],
            passes=samples[k] - v,
            rules={RULE: RuleBaseline(violations=v, applicable=samples[k])},
        )
    n = sum(samples)
    return CellBaseline(
        model="sim/x",
        n=n,
        n_scored=n,
        passes=n - total_v,
        rules={RULE: RuleBaseline(violations=total_v, applicable=n)},
        cases=cases if paired else {},
    )


def regressed(base: CellBaseline, cur: CellBaseline, gate: GateConfig) -> bool:
    verdict = compare_cell("t", "m", base, cur, gate)
    return any(c.kind is Kind.REGRESSION and c.metric == RULE for c in verdict.changes)


def alarm_rate(pairs: Sequence[tuple[CellBaseline, CellBaseline]], gate: GateConfig) -> float:
    return sum(regressed(base, cur, gate) for base, cur in pairs) / len(pairs)


def matched_alpha(
    pairs: Sequence[tuple[CellBaseline, CellBaseline]], target: float, gate: GateConfig
) -> float:
    """The largest alpha (to 1e-5) whose false-alarm rate over `pairs` is at most `target`."""
    low, high = 0.0, gate.alpha
    if alarm_rate(pairs, gate) <= target:
        return high
    while high - low > 1e-5:
        mid = (low + high) / 2
        if alarm_rate(pairs, gate.model_copy(update={"alpha": mid})) <= target:
            low = mid
        else:
            high = mid
    return low


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--base-rate", type=float, default=0.10)
    parser.add_argument("--rise", type=float, default=0.30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--concentration",
        type=float,
        default=None,
        help="Beta(a, b) case rates with a + b = this (smaller: cases differ more)",
    )
    parser.add_argument(
        "--sweep",
        default="0.01,0.02,0.03,0.05,0.07,0.10",
        help="alphas to run both tests at ('' for none)",
    )
    args = parser.parse_args()
    gate = GateConfig()
    rng = random.Random(args.seed)
    tests = ("unpaired", "stratified")
    alarms = dict.fromkeys(tests, 0)
    hits = dict.fromkeys(tests, 0)
    skewed = dict.fromkeys(tests, 0)
    kept: dict[str, list[tuple[CellBaseline, CellBaseline]]] = {"null": [], "drop": [], "mix": []}
    old: dict[str, list[tuple[CellBaseline, CellBaseline]]] = {"null": [], "drop": []}
    full = [args.samples] * args.cases
    for _ in range(args.trials):
        rates = case_rates(rng, args.cases, args.base_rate, args.concentration)
        worse = [
            min(0.99, r + args.rise) if k < args.cases // 2 else r for k, r in enumerate(rates)
        ]
        # No change, but the current run lost samples of its easiest cases (provider errors):
        # the mix of cases differs between the runs.
        easiest = sorted(range(args.cases), key=lambda k: rates[k])[: args.cases // 3]
        lost = [1 if k in easiest else args.samples for k in range(args.cases)]
        for scenario, current, cur_n, tally in (
            ("null", rates, full, alarms),
            ("drop", worse, full, hits),
            ("mix", rates, lost, skewed),
        ):
            seed = rng.random()
            for name in tests:
                # Both tests see the very same simulated runs.
                sim = random.Random(seed)
                base = run(sim, rates, full, paired=name == "stratified")
                cur = run(sim, current, cur_n, paired=name == "stratified")
                tally[name] += regressed(base, cur, gate)
                if name == "stratified" and scenario in kept:
                    kept[scenario].append((base, cur))
                elif name == "unpaired" and scenario in old:
                    old[scenario].append((base, cur))
    spread = f"Beta, a + b = {args.concentration}" if args.concentration else "difficulty varies"
    print(
        f"{args.trials} trials per scenario: {args.cases} cases x {args.samples} samples, "
        f"one rule at mean baseline rate {args.base_rate:.0%} (case rates: {spread}), "
        f"drop: +{args.rise:.0%} in half the cases; margin {gate.margin:.0%}, alpha {gate.alpha}"
    )
    print(
        f"{'test':26} {'false alarms (no change)':>25} {'power (real drop)':>18}"
        f" {'false alarms (case mix differs)':>32}"
    )
    for name, label in (("unpaired", "unpaired (old)"), ("stratified", "stratified by case (new)")):
        print(
            f"{label:26} {alarms[name] / args.trials:>25.1%} {hits[name] / args.trials:>18.1%}"
            f" {skewed[name] / args.trials:>32.1%}"
        )
    alpha = matched_alpha(kept["null"], alarms["unpaired"] / args.trials, gate)
    matched = gate.model_copy(update={"alpha": alpha})
    label = f"stratified, alpha {alpha:.4f}"
    print(
        f"{label:26} {alarm_rate(kept['null'], matched):>25.1%}"
        f" {alarm_rate(kept['drop'], matched):>18.1%} {alarm_rate(kept['mix'], matched):>32.1%}"
    )
    sweep = [float(a) for a in args.sweep.split(",") if a.strip()]
    if sweep:
        print(f"\n{'alpha':>6} {'unpaired: false alarms, power':>31} {'stratified: same':>26}")
    for a in sweep:
        at = gate.model_copy(update={"alpha": a})
        print(
            f"{a:>6.2f} {alarm_rate(old['null'], at):>21.1%} {alarm_rate(old['drop'], at):>9.1%}"
            f" {alarm_rate(kept['null'], at):>16.1%} {alarm_rate(kept['drop'], at):>9.1%}"
        )


if __name__ == "__main__":
    main()
