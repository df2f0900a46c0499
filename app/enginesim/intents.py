"""Keyword rules that stand in for a model's understanding of a customer message.

The classifier (structured-output ``choice``, or string enums in a ``json`` schema) and the canned answers both
read them, so a message like "I want to talk to a real person, this is ridiculous" is classified
``human_request`` / ``angry`` and answered with a hand-off sentence. Rules are deliberately simple and
deterministic: tests and the local run can rely on them, and nobody mistakes them for a model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

#: Concept -> phrases that signal it. Single words match on word boundaries, phrases as substrings.
CONCEPT_KEYWORDS: Mapping[str, tuple[str, ...]] = {
    "human_request": (
        "human",
        "real person",
        "a person",
        "agent",
        "representative",
        "operator",
        "supervisor",
        "manager",
        "speak to someone",
        "talk to someone",
        "speak with someone",
        "escalate",
    ),
    "angry": (
        "angry",
        "furious",
        "livid",
        "outraged",
        "unacceptable",
        "ridiculous",
        "worst",
        "terrible",
        "awful",
        "useless",
        "scam",
        "disgusting",
        "!!!",
    ),
    "frustrated": ("frustrated", "frustrating", "annoyed", "annoying", "fed up", "still not", "again", "waited"),
    "sad": ("sad", "disappointed", "upset", "unhappy", "let down"),
    "anxious": ("worried", "anxious", "scared", "urgent", "asap", "emergency", "immediately"),
    "confused": ("confused", "confusing", "don't understand", "do not understand", "unclear", "not sure"),
    "happy": ("thank", "thanks", "great", "awesome", "perfect", "excellent", "love", "appreciate", "happy"),
    "billing": ("bill", "billing", "charge", "charged", "invoice", "payment", "pay", "paid", "price", "card"),
    "refund": ("refund", "money back", "reimburse", "chargeback"),
    "shipping": ("order", "delivery", "deliver", "shipping", "shipped", "package", "parcel", "tracking", "arrive"),
    "account": ("password", "login", "log in", "sign in", "account", "locked", "username", "2fa", "reset"),
    "technical": (
        "error",
        "bug",
        "crash",
        "crashes",
        "broken",
        "not working",
        "doesn't work",
        "does not work",
        "fails",
        "failed",
        "glitch",
    ),
    "cancel": ("cancel", "cancellation", "unsubscribe", "close my account", "terminate"),
    "complaint": ("complaint", "complain", "poor service", "bad service", "unacceptable"),
    "greeting": ("hello", "hi", "hey", "good morning", "good afternoon", "good evening"),
    "goodbye": ("bye", "goodbye", "that's all", "that is all"),
}

#: Label words (as a classifier's choices spell them) -> the concept they name.
LABEL_ALIASES: Mapping[str, str] = {
    "human": "human_request",
    "handoff": "human_request",
    "escalation": "human_request",
    "escalate": "human_request",
    "agent": "human_request",
    "anger": "angry",
    "mad": "angry",
    "furious": "angry",
    "frustration": "frustrated",
    "annoyed": "frustrated",
    "disappointed": "sad",
    "sadness": "sad",
    "worried": "anxious",
    "fear": "anxious",
    "urgent": "anxious",
    "confusion": "confused",
    "joy": "happy",
    "positive": "happy",
    "satisfied": "happy",
    "grateful": "happy",
    "gratitude": "happy",
    "payment": "billing",
    "invoice": "billing",
    "order": "shipping",
    "delivery": "shipping",
    "login": "account",
    "password": "account",
    "bug": "technical",
    "tech": "technical",
    "support": "technical",
    "cancellation": "cancel",
    "churn": "cancel",
    "greet": "greeting",
    "farewell": "goodbye",
}

#: Labels a classifier uses for "nothing in particular": the fallback when no rule fires.
NEUTRAL_LABELS = frozenset({"neutral", "other", "none", "general", "question", "unknown", "calm", "normal", "info"})

#: Negative sentiment is the union of the negative emotions.
_COMPOSITE: Mapping[str, tuple[str, ...]] = {"negative": ("angry", "frustrated", "sad", "complaint")}


@cache
def _pattern(phrase: str) -> re.Pattern[str]:
    escaped = re.escape(phrase)
    if re.fullmatch(r"[\w' ]+", phrase):
        return re.compile(rf"(?<!\w){escaped}(?!\w)")
    return re.compile(escaped)


def concept_scores(text: str) -> dict[str, int]:
    """How many of each concept's phrases occur in ``text`` (case-insensitive); concepts with none are left out."""
    lowered = text.lower()
    scores: dict[str, int] = {}
    for concept, phrases in CONCEPT_KEYWORDS.items():
        score = sum(1 for phrase in phrases if _pattern(phrase).search(lowered))
        if score:
            scores[concept] = score
    return scores


def label_concepts(label: str) -> tuple[str, ...]:
    """The concepts a choice label names: ``"human_request"``, ``"Human"`` and ``"escalation"`` all name one."""
    normalized = re.sub(r"[\s\-]+", "_", label.strip().lower())
    if normalized in _COMPOSITE:
        return _COMPOSITE[normalized]
    if normalized in CONCEPT_KEYWORDS:
        return (normalized,)
    if normalized in LABEL_ALIASES:
        return (LABEL_ALIASES[normalized],)
    concepts = [
        concept
        for word in normalized.split("_")
        if (concept := word if word in CONCEPT_KEYWORDS else LABEL_ALIASES.get(word)) is not None
    ]
    return tuple(dict.fromkeys(concepts))


def is_neutral_label(label: str) -> bool:
    return label.strip().lower() in NEUTRAL_LABELS
