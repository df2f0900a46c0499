"""When the classifier's verdicts hand a conversation to a person."""

from __future__ import annotations

from app.chat.escalation import EMOTIONS, INTENTS, Classification, escalation_reason
from app.contracts.internal import ESCALATION_REASONS

ANGRY = Classification(intent="complaint", emotion="angry")
CALM = Classification(intent="question", emotion="neutral")


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
