"""A/B arithmetic against values computed by hand (and by statsmodels' formulas, quoted)."""

from __future__ import annotations

import pytest

from app.canary.experiment import compare, wilson


def test_wilson_interval_matches_the_textbook_example() -> None:
    rate = wilson(81, 263)  # Wilson (1927) style example; statsmodels proportion_confint(81, 263, method="wilson")
    assert rate.value == pytest.approx(0.30798, abs=1e-5)
    assert (rate.low, rate.high) == (pytest.approx(0.25528, abs=1e-4), pytest.approx(0.36616, abs=1e-4))


def test_wilson_stays_inside_zero_one_at_the_edges() -> None:
    assert wilson(0, 10).low == pytest.approx(0.0, abs=1e-12)
    assert wilson(10, 10).high == pytest.approx(1.0, abs=1e-12)
    assert wilson(0, 0).high == 1.0


def test_a_real_difference_is_significant_and_noise_is_not() -> None:
    big = compare((400, 1000), (460, 1000))  # resolved without a person: 40 % vs 46 %
    assert big.difference == pytest.approx(0.06)
    assert big.p_value == pytest.approx(0.00673, abs=1e-4)  # pooled 0.43, se 0.02214, z = 2.710
    assert big.significant
    small = compare((40, 100), (46, 100))
    assert not small.significant
    assert small.p_value > 0.3


def test_nothing_to_compare_is_never_significant() -> None:
    assert compare((0, 0), (5, 10)).p_value == 1.0
    assert compare((0, 50), (0, 50)).significant is False
