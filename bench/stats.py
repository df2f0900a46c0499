"""Summaries of latency samples: nearest-rank percentiles (no interpolation between two real samples)."""

from __future__ import annotations

import math
from collections.abc import Sequence

PERCENTILES = (50, 90, 95, 99)


def percentile(values: Sequence[float], rank: float) -> float:
    """The nearest-rank percentile: the smallest sample with at least ``rank``% of samples at or below it."""
    if not values:
        return math.nan
    if not 0 < rank <= 100:
        raise ValueError(f"rank must be in (0, 100], got {rank}")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """``{"p50": ms, ..., "mean": ms, "max": ms}`` of samples in seconds, rounded to 0.01 ms."""
    if not seconds:
        return {}
    result = {f"p{rank}": round(percentile(seconds, rank) * 1000, 2) for rank in PERCENTILES}
    result["mean"] = round(sum(seconds) / len(seconds) * 1000, 2)
    result["max"] = round(max(seconds) * 1000, 2)
    return result
