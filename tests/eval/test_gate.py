"""The evaluation gate on recorded evaluations: a planted 5-point macro-F1 regression is refused naming the classes
that got worse; small noise passes; records from different golden sets or a missing record are refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from eval.classifier import records
from eval.gate import GateMargins, compare

BASELINE_KEY = "org/classifier@" + "a" * 40
CANDIDATE_KEY = "org/classifier@" + "b" * 40


def _record(intent_recall: dict[str, float], intent_f1: float, golden: str = "set1") -> dict[str, Any]:
    return {
        "golden_set": golden,
        "tasks": {
            "intent": {"macro_f1": intent_f1, "recall": intent_recall},
            "emotion": {"macro_f1": 0.70, "recall": {"angry": 0.8, "neutral": 0.9}},
        },
    }


BASELINE = _record({"refund": 0.90, "billing": 0.85, "shipping": 0.80}, 0.84)


def test_a_planted_five_point_regression_is_refused_naming_the_classes() -> None:
    candidate = _record({"refund": 0.78, "billing": 0.74, "shipping": 0.80}, 0.79)
    verdict = compare(BASELINE, candidate, GateMargins(max_macro_f1_drop=0.02, max_recall_drop=0.05))
    assert not verdict.passed
    assert verdict.regressed_classes == ("intent/billing", "intent/refund")
    assert verdict.reasons[0] == (
        "intent macro-F1 0.840 -> 0.790 (-0.050, allowed -0.020); classes whose recall fell: billing, refund"
    )
    assert "intent recall of refund 0.900 -> 0.780 (-0.120, allowed -0.050)" in verdict.reasons


def test_noise_within_the_margins_passes_and_improvements_always_pass() -> None:
    candidate = _record({"refund": 0.86, "billing": 0.88, "shipping": 0.79}, 0.83)
    assert compare(BASELINE, candidate, GateMargins()).passed
    better = _record({"refund": 0.95, "billing": 0.95, "shipping": 0.95}, 0.95)
    assert compare(BASELINE, better, GateMargins()).passed


def test_one_class_collapsing_is_refused_even_when_macro_f1_holds() -> None:
    candidate = _record({"refund": 0.70, "billing": 0.95, "shipping": 0.95}, 0.84)
    verdict = compare(BASELINE, candidate, GateMargins())
    assert verdict.reasons == ("intent recall of refund 0.900 -> 0.700 (-0.200, allowed -0.050)",)


def test_a_class_missing_from_the_candidate_counts_as_recall_zero() -> None:
    candidate = _record({"billing": 0.85, "shipping": 0.80}, 0.84)
    assert compare(BASELINE, candidate, GateMargins()).regressed_classes == ("intent/refund",)


def test_different_golden_sets_are_not_compared() -> None:
    verdict = compare(BASELINE, _record({}, 0.99, golden="set2"), GateMargins())
    assert not verdict.passed
    assert "different golden sets" in verdict.explain()


@pytest.mark.parametrize(
    ("wanted", "passed", "says"),
    [
        (BASELINE_KEY, True, ""),
        ("org/classifier@" + "c" * 40, False, "no recorded evaluation of org/classifier@ccc"),
        (CANDIDATE_KEY, False, "intent macro-F1 0.840 -> 0.790"),
    ],
)
def test_verdict_for_a_stack_revision(wanted: str, passed: bool, says: str) -> None:
    committed = {
        "baseline": BASELINE_KEY,
        "evaluations": {
            BASELINE_KEY: BASELINE,
            CANDIDATE_KEY: _record({"refund": 0.78, "billing": 0.74, "shipping": 0.80}, 0.79),
        },
    }
    model_id, revision = wanted.split("@")
    verdict = records.verdict_for(model_id, revision, GateMargins(), committed)
    assert verdict.passed is passed
    assert says in verdict.explain()


def test_the_committed_records_name_an_evaluated_baseline_on_the_current_set() -> None:
    from eval.classifier import dataset

    committed = records.load()
    baseline = committed["evaluations"][committed["baseline"]]
    assert baseline["golden_set"] == dataset.fingerprint(dataset.load(dataset.GOLDEN_SET))
    assert set(baseline["tasks"]) == {"intent", "emotion"}


def test_summary_keeps_what_the_gate_reads(tmp_path) -> None:
    result = {
        "model_id": "org/classifier",
        "revision": "b" * 40,
        "engine": "vllm",
        "golden_set": "set1",
        "items": 3,
        "evaluated_at": "2026-12-07T23:00:00+00:00",
        "tasks": {
            "intent": {
                "macro_f1": 0.123456,
                "per_class": {"refund": {"recall": 0.5, "support": 2}, "(none)": {"recall": 0.0, "support": 0}},
            }
        },
    }
    summary = records.summary_of(result)
    assert summary["tasks"] == {"intent": {"macro_f1": 0.1235, "recall": {"refund": 0.5}}}
    path = tmp_path / "records.json"
    records.add(summary, path)
    records.add(copy.deepcopy(summary) | {"revision": "c" * 40}, path)
    stored = records.load(path)
    assert stored["baseline"] == "org/classifier@" + "b" * 40  # the first record becomes the baseline, later ones don't
    assert len(stored["evaluations"]) == 2
