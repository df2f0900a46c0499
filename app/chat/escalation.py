"""What the classifier may say about a customer message, and when that hands the conversation to a human.

The labels are the structured-output choices sent to the classifier model; the rules are pure functions of
this message's classification and the previous ones of the conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Classification:
    intent: str | None
    emotion: str | None


def escalation_reason(current: Classification, previous: Sequence[Classification]) -> str | None:
    """``human_request`` when the customer asks for a person; ``negative_emotion`` after ``NEGATIVE_STREAK``
    negative messages in a row (``previous`` is newest first); None otherwise."""
    if current.intent == "human_request":
        return "human_request"
    streak = [current, *previous][:NEGATIVE_STREAK]
    if len(streak) == NEGATIVE_STREAK and all(item.emotion in NEGATIVE_EMOTIONS for item in streak):
        return "negative_emotion"
    return None
