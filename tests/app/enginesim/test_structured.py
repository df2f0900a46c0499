"""Structured outputs: the classifier's choice is meaningful and deterministic, as a choice or as JSON; JSON fits
the schema."""

from __future__ import annotations

import random

import pytest

from app.enginesim.intents import concept_scores, label_concepts
from app.enginesim.structured import minimal_instance, pick_choice, schema_answer

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


CLASSIFIER_SCHEMA = {
    "type": "object",
    "properties": {"intent": {"enum": INTENTS}, "emotion": {"enum": EMOTIONS}},
    "required": ["intent", "emotion"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("message", "intent", "emotion"),
    [
        ("Let me talk to a human", "human_request", "neutral"),
        ("This is ridiculous, I was charged twice!!!", "billing", "angry"),
        ("I am so frustrated, please cancel my subscription", "cancel", "frustrated"),
        ("What are your opening hours?", "question", "neutral"),
    ],
)
def test_json_enum_properties_are_picked_like_choices(message: str, intent: str, emotion: str) -> None:
    assert schema_answer(CLASSIFIER_SCHEMA, message, random.Random(0)) == {"intent": intent, "emotion": emotion}
    for label, choices in (("intent", INTENTS), ("emotion", EMOTIONS)):
        assert schema_answer(CLASSIFIER_SCHEMA, message, random.Random(0))[label] == pick_choice(
            choices, message, random.Random(0)
        )


def test_json_enum_fallback_is_seeded() -> None:
    schema = {"type": "object", "properties": {"a": {"enum": ["alpha", "beta", "gamma", "delta"]}}}
    picks = {schema_answer(schema, "nothing to see", random.Random(seed))["a"] for seed in range(20)}
    assert len(picks) > 1
    assert schema_answer(schema, "x", random.Random(7)) == schema_answer(schema, "x", random.Random(7))


def test_json_answers_keep_the_minimal_instance_elsewhere() -> None:
    schema = {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": ["question", "human_request"]},
            "level": {"enum": [3, 1]},
            "fixed": {"const": "question", "enum": ["question", "human_request"]},
            "tags": {"type": "array", "items": {"enum": ["question", "human_request"]}, "minItems": 1},
            "nested": {"type": "object", "properties": {"who": {"enum": ["bot", "human_request"]}}},
            "count": {"type": "integer", "minimum": 2},
        },
    }
    assert schema_answer(schema, "get me a human", random.Random(0)) == {
        "intent": "human_request",
        "level": 3,
        "fixed": "question",
        "tags": ["question"],
        "nested": {"who": "human_request"},
        "count": 2,
    }
    assert schema_answer({"enum": ["question", "human_request"]}, "a human", random.Random(0)) == "question"
