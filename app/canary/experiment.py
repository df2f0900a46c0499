"""A/B report arithmetic: per-variant rates with confidence intervals and a significance test between variants.

An experiment is the canary mechanism at a fixed split (``assignment``); each outcome is a proportion over
conversations (resolved without a person, escalated, thumbs-up among rated answers, CSAT >= 4 among surveyed).
Rates get Wilson score intervals (honest at small counts and near 0 or 1, unlike the normal approximation) and the
difference a two-sided two-proportion z-test with the pooled standard error. Plain functions on counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

Z95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class Rate:
    successes: int
    trials: int
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Comparison:
    """Variant B against variant A on one outcome."""

    a: Rate
    b: Rate
    difference: float
    p_value: float
    significant: bool


def wilson(successes: int, trials: int, z: float = Z95) -> Rate:
    """The rate and its Wilson score interval (95 % by default); an empty variant is (0, 0, 1)."""
    if trials <= 0:
        return Rate(successes, trials, 0.0, 0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Rate(successes, trials, p, max(0.0, centre - half), min(1.0, centre + half))


def compare(a: tuple[int, int], b: tuple[int, int], alpha: float = 0.05) -> Comparison:
    """Two-proportion z-test of ``b`` (successes, trials) against ``a``; p-value 1 when either side is empty or
    the pooled rate is 0 or 1 (nothing to tell apart)."""
    rate_a, rate_b = wilson(*a), wilson(*b)
    (sa, na), (sb, nb) = a, b
    difference = rate_b.value - rate_a.value
    pooled = (sa + sb) / (na + nb) if na and nb else 0.0
    if not na or not nb or pooled in (0.0, 1.0):
        return Comparison(rate_a, rate_b, difference, 1.0, False)
    standard_error = math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    p_value = 2 * (1 - NormalDist().cdf(abs(difference) / standard_error))
    return Comparison(rate_a, rate_b, difference, p_value, p_value < alpha)
