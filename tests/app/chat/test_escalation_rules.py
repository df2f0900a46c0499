"""What the classifier's answer says, and when its verdicts hand a conversation to a person."""

from __future__ import annotations

from typing import Any

import pytest

from app.chat.escalation import (
    CLASSIFIER_SCHEMA,
    EMOTIONS,
    INTENTS,
    Classification,
    classification_of,
    escalation_reason,
)
from app.contracts.internal import ESCALATION_REASONS

ANGRY = Classification(intent="complaint", emotion="angry")
CALM = Classification(intent="question", emotion="neutral")


def test_the_schema_asks_for_both_labels_and_nothing_else() -> None:
    assert CLASSIFIER_SCHEMA["properties"] == {"intent": {"enum": list(INTENTS)}, "emotion": {"enum": list(EMOTIONS)}}
    assert CLASSIFIER_SCHEMA["required"] == ["intent", "emotion"]
    assert CLASSIFIER_SCHEMA["additionalProperties"] is False


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"intent": "human_request", "emotion": "angry"}, Classification("human_request", "angry")),
        ({"intent": "human_request", "emotion": "furious-ish"}, Classification("human_request", None)),
        ({"intent": ["billing"], "emotion": "sad", "extra": 1}, Classification(None, "sad")),
        ({"emotion": "neutral"}, Classification(None, "neutral")),
        ({"intent": 3, "emotion": None}, None),
        ({}, None),
        (None, None),
    ],
)
def test_an_answer_is_checked_label_by_label(answer: dict[str, Any] | None, expected: Classification | None) -> None:
    assert classification_of(answer) == expected


def test_asking_for_a_person_escalates_at_once() -> None:
    assert escalation_reason(Classification("human_request", "neutral"), []) == "human_request"


def test_two_negative_messages_in_a_row_escalate() -> None:
    assert escalation_reason(ANGRY, []) is None
    assert escalation_reason(ANGRY, [CALM]) is None
    assert escalation_reason(ANGRY, [Classification("question", "frustrated")]) == "negative_emotion"
    assert escalation_reason(CALM, [ANGRY]) is None


def test_missing_verdicts_never_escalate() -> None:
    assert escalation_reason(Classification(None, None), [ANGRY]) is None


def test_the_reasons_are_the_contracts() -> None:
    assert {"human_request", "negative_emotion"} <= set(ESCALATION_REASONS)
    assert "human_request" in INTENTS
    assert {"angry", "frustrated", "neutral"} <= set(EMOTIONS)
