"""The canary decision on recorded metric series: promote a healthy canary, hold a thin one, roll back a bad one."""

from __future__ import annotations

import math

import pytest

from app.canary.analysis import CanaryPolicy, Sample, Window, decide, histogram_quantile, window

BOUNDS = (0.1, 0.25, 0.5, 1.0, 2.5, math.inf)
SCRAPE_SECONDS = 30


def _recorded(
    per_scrape: dict[str, float], ttft_share: tuple[float, ...], scrapes: int = 11, reset_at: int | None = None
) -> list[Sample]:
    """Cumulative samples as Prometheus would have scraped them: ``per_scrape`` counter increase per interval, the
    requests' TTFT spread over BOUNDS by ``ttft_share``; the process restarts (counters to zero) at ``reset_at``."""
    samples: list[Sample] = []
    totals = dict.fromkeys(per_scrape, 0.0)
    buckets = dict.fromkeys(BOUNDS, 0.0)
    for index in range(scrapes):
        if index == reset_at:
            totals, buckets = dict.fromkeys(per_scrape, 0.0), dict.fromkeys(BOUNDS, 0.0)
        elif index:
            for name, step in per_scrape.items():
                totals[name] += step
            running = 0.0
            for bound, share in zip(BOUNDS, ttft_share, strict=True):
                running += share * per_scrape["requests"]
                buckets[bound] += running
        samples.append(Sample(at=index * SCRAPE_SECONDS, counters=dict(totals), ttft_buckets=dict(buckets)))
    return samples


FAST = (0.5, 0.4, 0.09, 0.01, 0.0, 0.0)
SLOW = (0.1, 0.2, 0.3, 0.3, 0.1, 0.0)
STABLE_TRAFFIC = {"requests": 300, "errors": 1, "conversations": 60, "escalations": 3, "rated": 20, "thumbs_down": 2}
HEALTHY_CANARY = {"requests": 30, "errors": 0, "conversations": 6, "escalations": 0, "rated": 2, "thumbs_down": 0}
END = 10 * SCRAPE_SECONDS


def _windows(canary_traffic: dict[str, float], canary_ttft: tuple[float, ...] = FAST) -> tuple[Window, Window]:
    stable = window(_recorded(STABLE_TRAFFIC, FAST), 0, END)
    return stable, window(_recorded(canary_traffic, canary_ttft), 0, END)


def test_a_healthy_canary_is_promoted_one_step() -> None:
    decision = decide(*_windows(HEALTHY_CANARY), weight=0.05, policy=CanaryPolicy())
    assert (decision.action, decision.weight) == ("promote", 0.25)
    last = decide(*_windows(HEALTHY_CANARY), weight=0.5, policy=CanaryPolicy())
    assert (last.action, last.weight) == ("promote", 1.0)
    assert decide(*_windows(HEALTHY_CANARY), weight=1.0, policy=CanaryPolicy()).action == "complete"


def test_a_canary_without_enough_samples_is_held_at_its_weight() -> None:
    thin = {**HEALTHY_CANARY, "requests": 5, "conversations": 1}
    decision = decide(*_windows(thin), weight=0.05, policy=CanaryPolicy())
    assert (decision.action, decision.weight) == ("hold", 0.05)
    assert decision.reasons[0] == "requests: canary below 200 in the window"


def test_errors_roll_the_canary_back() -> None:
    failing = {**HEALTHY_CANARY, "errors": 3}  # 10 % of its requests
    decision = decide(*_windows(failing), weight=0.25, policy=CanaryPolicy())
    assert (decision.action, decision.weight) == ("rollback", 0.0)
    assert decision.reasons == ("error rate 0.100 vs stable 0.003 (more than +0.010)",)


def test_a_slower_first_token_rolls_the_canary_back() -> None:
    decision = decide(*_windows(HEALTHY_CANARY, SLOW), weight=0.25, policy=CanaryPolicy())
    assert decision.action == "rollback"
    assert decision.reasons[0].startswith("TTFT p99 2.3")


def test_more_escalations_and_thumbs_down_roll_back_even_when_fast() -> None:
    unhappy = {**HEALTHY_CANARY, "escalations": 1, "rated": 3, "thumbs_down": 1}
    decision = decide(*_windows(unhappy), weight=0.25, policy=CanaryPolicy())
    assert decision.action == "rollback"
    assert [r.split(" ")[0] for r in decision.reasons] == ["escalation", "thumbs-down"]


def test_a_bad_canary_is_rolled_back_before_the_slow_counters_have_their_samples() -> None:
    """Errors need requests only: a canary failing fast is not kept alive waiting for ratings."""
    failing = {**HEALTHY_CANARY, "errors": 3, "rated": 0, "thumbs_down": 0}
    assert decide(*_windows(failing), weight=0.05, policy=CanaryPolicy()).action == "rollback"


def test_a_counter_reset_in_the_window_is_not_a_negative_increase() -> None:
    restarted = window(_recorded(HEALTHY_CANARY, FAST, reset_at=4), 0, END)
    assert restarted.counts["requests"] == 6 * 30  # what the restarted process counted since: never negative


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    buckets = {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, math.inf: 100.0}
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1)
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.5 + 0.5 * (99 - 90) / 10)
    assert math.isnan(histogram_quantile(0.99, {}))
    assert histogram_quantile(0.99, {1.0: 0.0, math.inf: 10.0}) == 1.0
