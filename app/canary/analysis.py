"""Should the canary grow, wait, or go? A decision from two variants' Prometheus counters over one window.

Where it runs: unattended, in the cluster, as a CronJob every analysis window (5 minutes) beside Prometheus (it
reads the counters below by PromQL and writes the new weight where the router reads it). Not the deploy workflow:
a canary runs for hours, longer than a CI job should hold a runner, and a rollback must not wait for CI. This module
is the decision only, a pure function of recorded samples, so it is tested on recorded series.

Per variant the window yields: requests and errors (engine requests by outcome), the TTFT histogram
(``vllm:time_to_first_token_seconds_bucket``), conversations started, escalations to a person, answers rated and
thumbs-down. The canary is rolled back (weight 0) as soon as one check fails on enough samples; it is held while a
variant lacks the minimum samples; otherwise it is promoted one step (``CanaryPolicy.steps``); at weight 1 the rollout
is complete (the canary's revision becomes the stack's stable one in a commit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Action = Literal["promote", "hold", "rollback", "complete"]
COUNTERS = ("requests", "errors", "conversations", "escalations", "rated", "thumbs_down")


@dataclass(frozen=True)
class Sample:
    """Cumulative counters of one variant at one scrape (as Prometheus stores them)."""

    at: float
    counters: Mapping[str, float]
    #: cumulative TTFT histogram: upper bound (seconds, ``math.inf`` last) -> observations at or below it
    ttft_buckets: Mapping[float, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Window:
    """What one variant did between two samples: counter increases and the TTFT histogram's increase."""

    counts: Mapping[str, float]
    ttft_buckets: Mapping[float, float]

    def rate(self, numerator: str, denominator: str) -> float:
        return self.counts[numerator] / self.counts[denominator] if self.counts[denominator] else 0.0

    @property
    def ttft_p99(self) -> float:
        return histogram_quantile(0.99, self.ttft_buckets)


def _increase(first: float, last: float) -> float:
    """Prometheus' ``increase`` without extrapolation: a counter that went down was reset, so all of ``last`` is new."""
    return last - first if last >= first else last


def window(samples: Sequence[Sample], start: float, end: float) -> Window:
    """The increase between the first and the last sample inside ``[start, end]``."""
    inside = [s for s in samples if start <= s.at <= end]
    if len(inside) < 2:
        return Window(dict.fromkeys(COUNTERS, 0.0), {})
    first, last = inside[0], inside[-1]
    return Window(
        {name: _increase(first.counters.get(name, 0.0), last.counters.get(name, 0.0)) for name in COUNTERS},
        {le: _increase(first.ttft_buckets.get(le, 0.0), count) for le, count in last.ttft_buckets.items()},
    )


def histogram_quantile(q: float, buckets: Mapping[float, float]) -> float:
    """Prometheus' ``histogram_quantile``: linear interpolation inside the bucket holding the rank; NaN when empty."""
    ordered = sorted(buckets.items())
    if not ordered or ordered[-1][1] <= 0:
        return math.nan
    rank = q * ordered[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for upper, count in ordered:
        if count >= rank:
            if math.isinf(upper):
                return lower_bound  # the rank is beyond the last finite bucket: its bound, as Prometheus answers
            return lower_bound + (upper - lower_bound) * ((rank - lower_count) / (count - lower_count or 1))
        lower_bound, lower_count = upper, count
    return lower_bound


@dataclass(frozen=True)
class CanaryPolicy:
    """Thresholds and sample sizes; rates are absolute increases over stable's, TTFT a ratio to stable's."""

    steps: tuple[float, ...] = (0.05, 0.25, 0.5, 1.0)
    min_requests: int = 200
    min_conversations: int = 50
    min_rated: int = 20
    max_error_rate_increase: float = 0.01
    max_ttft_p99_ratio: float = 1.25
    max_escalation_rate_increase: float = 0.05
    max_thumbs_down_rate_increase: float = 0.05


@dataclass(frozen=True)
class Decision:
    action: Action
    weight: float
    reasons: tuple[str, ...]


def _next_step(weight: float, steps: tuple[float, ...]) -> float:
    return next((step for step in steps if step > weight + 1e-9), 1.0)


def decide(stable: Window, canary: Window, weight: float, policy: CanaryPolicy) -> Decision:
    """Compare the canary with stable over one window and say what its weight becomes."""
    if weight >= 1.0:
        return Decision("complete", 1.0, ("the canary already takes all new conversations",))
    failures: list[str] = []
    thin: list[str] = []

    def enough(name: str, minimum: int) -> bool:
        short = [v for v, w in (("stable", stable), ("canary", canary)) if w.counts[name] < minimum]
        if short:
            thin.append(f"{name}: {', '.join(short)} below {minimum} in the window")
        return not short

    if enough("requests", policy.min_requests):
        error_stable, error_canary = stable.rate("errors", "requests"), canary.rate("errors", "requests")
        if error_canary - error_stable > policy.max_error_rate_increase:
            failures.append(
                f"error rate {error_canary:.3f} vs stable {error_stable:.3f} "
                f"(more than +{policy.max_error_rate_increase:.3f})"
            )
        ttft_stable, ttft_canary = stable.ttft_p99, canary.ttft_p99
        if ttft_stable > 0 and ttft_canary / ttft_stable > policy.max_ttft_p99_ratio:
            failures.append(
                f"TTFT p99 {ttft_canary:.3f} s vs stable {ttft_stable:.3f} s (more than x{policy.max_ttft_p99_ratio:g})"
            )
    if enough("conversations", policy.min_conversations):
        esc_stable, esc_canary = (
            stable.rate("escalations", "conversations"),
            canary.rate("escalations", "conversations"),
        )
        if esc_canary - esc_stable > policy.max_escalation_rate_increase:
            failures.append(
                f"escalation rate {esc_canary:.3f} vs stable {esc_stable:.3f} "
                f"(more than +{policy.max_escalation_rate_increase:.3f})"
            )
    if enough("rated", policy.min_rated):
        down_stable, down_canary = stable.rate("thumbs_down", "rated"), canary.rate("thumbs_down", "rated")
        if down_canary - down_stable > policy.max_thumbs_down_rate_increase:
            failures.append(
                f"thumbs-down rate {down_canary:.3f} vs stable {down_stable:.3f} "
                f"(more than +{policy.max_thumbs_down_rate_increase:.3f})"
            )
    if failures:
        return Decision("rollback", 0.0, tuple(failures))
    if thin:
        return Decision("hold", weight, tuple(thin))
    step = _next_step(weight, policy.steps)
    return Decision("promote", step, (f"healthy: weight {weight:g} -> {step:g}",))
