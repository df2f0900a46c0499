"""What the classifier may say about a customer message, and when that hands the conversation to a human.

The labels are the enums of the JSON schema the classifier model answers in (one structured-output request
gives both labels); the rules are pure functions of this message's classification and the previous ones of the
conversation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Intent choices, most specific first (a classifier's ties go to the earlier choice).
INTENTS = (
    "human_request",
    "complaint",
    "refund",
    "billing",
    "shipping",
    "account",
    "technical",
    "cancel",
    "greeting",
    "goodbye",
    "question",
)
EMOTIONS = ("angry", "frustrated", "sad", "anxious", "confused", "happy", "neutral")
NEGATIVE_EMOTIONS = frozenset({"angry", "frustrated"})
#: How many negative customer messages in a row make a human take over.
NEGATIVE_STREAK = 2
#: vLLM's ``structured_outputs.json``: the classifier answers ``{"intent": ..., "emotion": ...}``, nothing else.
CLASSIFIER_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {"intent": {"enum": list(INTENTS)}, "emotion": {"enum": list(EMOTIONS)}},
    "required": ["intent", "emotion"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Classification:
    intent: str | None
    emotion: str | None


def classification_of(answer: Mapping[str, Any] | None) -> Classification | None:
    """The labels of the classifier's answer; a missing or unknown label is None (a real model's output is
    checked, not trusted), and an answer with neither is no classification."""
    if answer is None:
        return None
    intent, emotion = answer.get("intent"), answer.get("emotion")
    classification = Classification(
        intent=intent if intent in INTENTS else None, emotion=emotion if emotion in EMOTIONS else None
    )
    return None if classification.intent is None and classification.emotion is None else classification


def escalation_reason(current: Classification, previous: Sequence[Classification]) -> str | None:
    """``human_request`` when the customer asks for a person; ``negative_emotion`` after ``NEGATIVE_STREAK``
    negative messages in a row (``previous`` is newest first); None otherwise."""
    if current.intent == "human_request":
        return "human_request"
    streak = [current, *previous][:NEGATIVE_STREAK]
    if len(streak) == NEGATIVE_STREAK and all(item.emotion in NEGATIVE_EMOTIONS for item in streak):
        return "negative_emotion"
    return None
