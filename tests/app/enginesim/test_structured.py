"""Structured outputs: the classifier's choice is meaningful and deterministic; JSON fits the schema."""

from __future__ import annotations

import random

import pytest

from app.enginesim.intents import concept_scores, label_concepts
from app.enginesim.structured import minimal_instance, pick_choice

INTENTS = ["question", "complaint", "human_request", "billing", "cancel"]
EMOTIONS = ["neutral", "happy", "frustrated", "angry"]


@pytest.mark.parametrize(
    ("message", "choices", "expected"),
    [
        ("Can I please talk to a real person?", INTENTS, "human_request"),
        ("I want to speak to someone, get me an agent", INTENTS, "human_request"),
        ("Why was my card charged twice on this invoice?", INTENTS, "billing"),
        ("Please cancel my subscription", INTENTS, "cancel"),
        ("This is ridiculous, worst service ever!!!", EMOTIONS, "angry"),
        ("Thanks, that was perfect", EMOTIONS, "happy"),
        ("What are your opening hours?", EMOTIONS, "neutral"),
        ("What are your opening hours?", INTENTS, "question"),
        ("I am so frustrated, this is still not fixed", ["calm", "Frustration"], "Frustration"),
        ("Let me talk to a human", ["other", "Escalation"], "Escalation"),
    ],
)
def test_keyword_rules_pick_the_meaningful_choice(message: str, choices: list[str], expected: str) -> None:
    assert pick_choice(choices, message, random.Random(0)) == expected


def test_ties_go_to_the_earlier_choice() -> None:
    assert pick_choice(["billing", "refund"], "refund the charge", random.Random(0)) == "billing"
    assert pick_choice(["refund", "billing"], "refund the charge", random.Random(0)) == "refund"


def test_fallback_without_neutral_label_is_seeded() -> None:
    choices = ["alpha", "beta", "gamma", "delta"]
    picks = {pick_choice(choices, "nothing to see", random.Random(seed)) for seed in range(20)}
    assert picks <= set(choices)
    assert len(picks) > 1
    assert pick_choice(choices, "x", random.Random(7)) == pick_choice(choices, "x", random.Random(7))


def test_empty_choices_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        pick_choice([], "hi", random.Random(0))


def test_label_concepts_understand_spellings() -> None:
    assert label_concepts("human_request") == ("human_request",)
    assert label_concepts("Human Request") == ("human_request",)
    assert label_concepts("negative") == ("angry", "frustrated", "sad", "complaint")
    assert label_concepts("order-status") == ("shipping",)
    assert label_concepts("zebra") == ()


def test_phrases_match_on_word_boundaries() -> None:
    assert "greeting" not in concept_scores("this is a thin line")
    assert concept_scores("hi there")["greeting"] == 1


def test_minimal_instance_fits_common_schemas() -> None:
    schema = {
        "type": "object",
        "properties": {
            "intent": {"enum": ["question", "complaint"]},
            "confidence": {"type": "number", "minimum": 0.5},
            "count": {"type": "integer", "exclusiveMinimum": 1},
            "tags": {"type": "array", "items": {"type": "string", "minLength": 2}, "minItems": 1},
            "note": {"type": ["string", "null"]},
            "flag": {"type": "boolean"},
            "nested": {"type": "object", "properties": {"a": {"const": 3}}, "required": ["a"]},
            "either": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "optional": {"type": "string"},
        },
        "required": ["intent", "confidence", "count", "tags", "note", "flag", "nested", "either"],
    }
    assert minimal_instance(schema) == {
        "intent": "question",
        "confidence": 0.5,
        "count": 2,
        "tags": ["xx"],
        "note": "",
        "flag": False,
        "nested": {"a": 3},
        "either": 0,
    }
