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
