"""Statistics for scores and the gate: intervals, pass@k, and tests of proportions."""

from __future__ import annotations

import math
from collections.abc import Sequence


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when n is 0."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k: chance that at least one of k samples drawn from n (c correct) passes."""
    k = min(k, n)
    if k <= 0:
        return 0.0
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k: chance that all of k samples drawn from n (c correct) pass: C(c,k) / C(n,k)."""
    k = min(k, n)
    if k <= 0:
        return 0.0
    return math.comb(c, k) / math.comb(n, k)


def _phi_upper(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def fisher_one_sided(x1: int, n1: int, x2: int, n2: int) -> float:
    """Fisher's exact test, p-value for H1: p1 > p2 (P[X1 >= x1] under the hypergeometric)."""
    s, total = x1 + x2, n1 + n2
    denom = math.comb(total, n1)
    num = sum(math.comb(s, k) * math.comb(total - s, n1 - k) for k in range(x1, min(s, n1) + 1))
    return min(1.0, num / denom)


def one_sided_two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> float:
    """p-value for H1: the first proportion is greater than the second (p1 > p2).

    For the gate: pass (baseline passes, baseline n, candidate passes, candidate n); a small
    p-value says the candidate got worse. Pooled-variance normal approximation, or Fisher's
    exact test when any expected cell count is below 5. Returns 1.0 when either n is 0.
    """
    if n1 <= 0 or n2 <= 0:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    expected = (n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
    if min(expected) < 5:
        return fisher_one_sided(x1, n1, x2, n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    return _phi_upper((x1 / n1 - x2 / n2) / se)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of unsorted values; None when empty."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def _hypergeom_pmf(total: int, successes: int, draws: int) -> dict[int, float]:
    """P[X = k] for X the successes among `draws` of `total` items, `successes` of them
    successes (exact, by the log-combinations)."""
    lo, hi = max(0, draws - (total - successes)), min(draws, successes)
    denom = math.lgamma(total + 1) - math.lgamma(draws + 1) - math.lgamma(total - draws + 1)
    out = {}
    for k in range(lo, hi + 1):
        num = (
            math.lgamma(successes + 1)
            - math.lgamma(k + 1)
            - math.lgamma(successes - k + 1)
            + math.lgamma(total - successes + 1)
            - math.lgamma(draws - k + 1)
            - math.lgamma(total - successes - draws + k + 1)
        )
        out[k] = math.exp(num - denom)
    return out


#: Above this many (support point x stratum value) steps, the convolution is not attempted.
EXACT_LIMIT = 2_000_000


def _mantel_fleiss_ok(strata: Sequence[tuple[int, int, int, int]]) -> bool:
    """Mantel and Fleiss's (1980) rule for the CMH normal approximation: the expected sum
    of group 1's successes lies at least 5 from both ends of its attainable range."""
    expected = low = high = 0.0
    for x1, n1, x2, n2 in strata:
        total, succ = n1 + n2, x1 + x2
        expected += n1 * succ / total
        low += max(0, n1 - (total - succ))
        high += min(n1, succ)
    return min(expected - low, high - expected) >= 5


def stratified_one_sided(strata: Sequence[tuple[int, int, int, int]]) -> float:
    """p-value for H1: group 1's proportion is greater than group 2's, within strata.

    Each stratum is `(x1, n1, x2, n2)`: the same case answered in both runs. Conditioning
    on each stratum's margins, the first group's total successes is a sum of independent
    hypergeometric counts (the Cochran-Mantel-Haenszel setting).
    - Small counts (Mantel and Fleiss's rule fails): the exact p-value, by convolution of
      the hypergeometric distributions.
    - Otherwise the one-sided CMH normal approximation, without continuity correction, as
      the unpaired test's z-test.
    Strata with no variation (all or no successes, or an empty group) carry no information
    and are skipped. Returns 1.0 when no stratum is informative.
    """
    useful = [
        (x1, n1, x2, n2) for x1, n1, x2, n2 in strata if n1 > 0 and n2 > 0 and 0 < x1 + x2 < n1 + n2
    ]
    if not useful:
        return 1.0
    observed = sum(x1 for x1, _, _, _ in useful)
    steps = span = 0
    for x1, n1, x2, _ in useful:
        width = min(n1, x1 + x2) + 1
        span += width
        steps += span * width
    if steps <= EXACT_LIMIT and not _mantel_fleiss_ok(useful):
        dist: dict[int, float] = {0: 1.0}
        for x1, n1, x2, n2 in useful:
            pmf = _hypergeom_pmf(n1 + n2, x1 + x2, n1)
            nxt: dict[int, float] = {}
            for total, p in dist.items():
                for k, q in pmf.items():
                    nxt[total + k] = nxt.get(total + k, 0.0) + p * q
            dist = nxt
        return min(1.0, math.fsum(p for t, p in dist.items() if t >= observed))
    mean = var = 0.0
    for x1, n1, x2, n2 in useful:
        total, succ = n1 + n2, x1 + x2
        mean += n1 * succ / total
        var += n1 * n2 * succ * (total - succ) / (total * total * (total - 1))
    return _phi_upper((observed - mean) / math.sqrt(var))
