"""The shared evaluation arithmetic, on hand-computed examples."""

from __future__ import annotations

import json
import math

import pytest

from eval import metrics, report


def test_class_scores_match_a_hand_count() -> None:
    expected = ["order", "order", "refund", "refund", "other"]
    predicted = ["order", "refund", "refund", "refund", "order"]
    scores = metrics.class_scores(expected, predicted)
    assert scores["order"].precision == 0.5
    assert scores["order"].recall == 0.5
    assert scores["refund"].precision == pytest.approx(2 / 3)
    assert scores["refund"].recall == 1.0
    assert scores["refund"].f1 == pytest.approx(0.8)
    assert scores["other"].f1 == 0.0
    assert metrics.macro_f1(scores) == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert metrics.weighted_f1(scores) == pytest.approx((0.5 * 2 + 0.8 * 2 + 0.0) / 5)


def test_confusion_matrix_rows_are_expected_labels() -> None:
    labels, matrix = metrics.confusion_matrix(["a", "a", "b"], ["a", "b", "b"])
    assert labels == ["a", "b"]
    assert matrix == [[1, 1], [0, 1]]


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="2 expected labels but 1 predictions"):
        metrics.class_scores(["a", "b"], ["a"])


def test_ranking_metrics() -> None:
    ranked = ["p3", "p1", "p9", "p2"]
    assert metrics.recall_at_k(ranked, {"p1", "p2"}, k=2) == 0.5
    assert metrics.recall_at_k(ranked, {"p1", "p2"}, k=5) == 1.0
    assert metrics.reciprocal_rank(ranked, {"p9"}) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank(ranked, {"nope"}) == 0.0


def test_detection_scores_and_percentiles() -> None:
    scores = metrics.detection_scores(true_positives=9, false_positives=1, false_negatives=3)
    assert scores.precision == 0.9
    assert scores.recall == 0.75
    assert metrics.percentile([1, 2, 3, 4], 50) == 2.5
    assert metrics.percentile([5.0], 99) == 5.0
    assert math.isnan(metrics.percentile([], 50))


def test_report_writes_sorted_json_and_a_table(tmp_path) -> None:
    path = report.write_json("demo", {"b": 1, "a": 0.5}, output_dir=tmp_path)
    assert json.loads(path.read_text()) == {"a": 0.5, "b": 1}
    text = report.table(["class", "f1"], [["order", 0.5], ["refund", 0.8]])
    assert text.splitlines()[2] == "order   0.500"  # the column is as wide as "refund"
