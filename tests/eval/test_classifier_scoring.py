"""Predictions -> figures: per-class scores per task, an unanswered item counts as wrong, groups by language and tag."""

from __future__ import annotations

import pytest

from eval.classifier.dataset import LabelledMessage
from eval.classifier.scoring import NO_ANSWER, Prediction, score


def _item(id_: str, intent: str, emotion: str, lang: str = "en", tags: tuple[str, ...] = ()) -> LabelledMessage:
    return LabelledMessage(id=id_, lang=lang, text=id_, intent=intent, emotion=emotion, tags=tags)


def test_score_counts_each_task_and_treats_no_answer_as_wrong() -> None:
    items = [
        _item("1", "refund", "angry"),
        _item("2", "refund", "neutral", lang="de", tags=("typo",)),
        _item("3", "billing", "neutral", tags=("typo",)),
        _item("4", "billing", "happy"),
    ]
    predictions = [
        Prediction("refund", "angry", 10.0),
        Prediction("billing", "neutral", 20.0),
        Prediction("billing", "neutral", 30.0),
        Prediction(None, None, 40.0),
    ]
    result = score(items, predictions)
    intent = result["tasks"]["intent"]
    assert intent["per_class"]["refund"]["recall"] == 0.5
    assert intent["per_class"]["billing"]["precision"] == 0.5
    assert intent["per_class"][NO_ANSWER]["support"] == 0
    assert intent["accuracy"] == 0.5
    assert intent["macro_f1"] == pytest.approx((2 / 3 + 0.5) / 2)  # (none) has no support: not averaged
    assert intent["confusion"]["labels"] == [NO_ANSWER, "billing", "refund"]
    assert intent["confusion"]["matrix"][1] == [1, 1, 0]  # billing: one unanswered, one right
    assert result["tasks"]["emotion"]["per_class"]["happy"]["recall"] == 0.0
    assert result["unanswered"] == 1
    assert result["by_language"]["de"] == {"items": 1, "intent_accuracy": 0.0, "emotion_accuracy": 1.0}
    assert result["by_tag"]["typo"]["intent_accuracy"] == 0.5
    assert result["latency_ms"]["p50"] == 25.0
    assert [e["id"] for e in result["errors"]] == ["2", "4"]


def test_score_refuses_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="1 items but 0 predictions"):
        score([_item("1", "refund", "angry")], [])
