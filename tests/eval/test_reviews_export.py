"""Reviewed items reach the golden set's format with provenance, once, and make eval can include them."""

from __future__ import annotations

import pytest

from eval.classifier import dataset, reviews


def _reviewed(review_id: str, intent: str = "refund") -> reviews.ReviewedMessage:
    return reviews.ReviewedMessage(
        review_id=review_id,
        conversation_id="c-1",
        message_id="m-1",
        text="I want my money back for <ORDER_1>",
        lang="en",
        intent=intent,
        emotion="frustrated",
        reviewer="agent@example.com",
        reviewed_at="2026-12-08T00:30:00+00:00",
        reason="thumbs_down",
    )


def test_export_writes_golden_format_with_provenance_once(tmp_path) -> None:
    path = tmp_path / "reviewed.jsonl"
    assert reviews.export([_reviewed("r1"), _reviewed("r2")], path) == 2
    assert reviews.export([_reviewed("r1"), _reviewed("r3")], path) == 1
    items = dataset.load(path)
    assert [i.id for i in items] == ["review-r1", "review-r2", "review-r3"]
    assert items[0].source == "review"
    assert items[0].provenance["reason"] == "thumbs_down"
    assert items[0].provenance["conversation_id"] == "c-1"


def test_export_refuses_a_label_outside_the_classifier_schema_and_writes_nothing(tmp_path) -> None:
    path = tmp_path / "reviewed.jsonl"
    with pytest.raises(dataset.DatasetError, match="intent 'praise' is not a label"):
        reviews.export([_reviewed("r1"), _reviewed("r2", intent="praise")], path)
    assert not path.exists()
