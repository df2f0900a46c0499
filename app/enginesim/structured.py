"""Structured outputs: answers constrained to one of a list of choices, or to a JSON schema.

vLLM guarantees the *form* (exactly one choice; JSON valid for the schema); the model decides the content.
Here the content comes from the keyword rules in ``intents``, so a classifier asked for
``["question", "complaint", "human_request"]`` about "let me talk to a human" answers ``human_request`` every time,
whether it asks with ``choice`` or with a JSON schema whose property is ``{"enum": [...]}``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.enginesim.intents import concept_scores, is_neutral_label, label_concepts


def pick_choice(choices: Sequence[str], text: str, rng: random.Random) -> str:
    """The choice whose concept the text signals most; else a neutral-sounding choice; else a seeded pick.

    Ties go to the earlier choice, so the caller's order is the priority order.
    """
    if not choices:
        raise ValueError("choices must not be empty")
    scores = concept_scores(text)
    best, best_score = None, 0
    for choice in choices:
        score = sum(scores.get(concept, 0) for concept in label_concepts(choice))
        if score > best_score:
            best, best_score = choice, score
    if best is not None:
        return best
    neutral = next((choice for choice in choices if is_neutral_label(choice)), None)
    return neutral if neutral is not None else rng.choice(list(choices))


def schema_answer(schema: Mapping[str, Any], text: str, rng: random.Random) -> Any:
    """A document valid for ``schema`` whose string-enum properties are picked like choices (``pick_choice``
    on ``text``), so one JSON request classifies as meaningfully as one ``choice`` request per label; the rest
    is ``minimal_instance``. Properties are filled in ``required`` order, so the seeded draws are reproducible.
    """
    return minimal_instance(schema, pick=lambda labels: pick_choice(labels, text, rng))


#: Picks one of an object property's string enum values; None keeps the first (``minimal_instance``).
EnumPick = Callable[[Sequence[str]], str]

_MAX_DEPTH = 8
_COMBINATORS = ("anyOf", "oneOf", "allOf")


def minimal_instance(schema: Mapping[str, Any], *, pick: EnumPick | None = None, _depth: int = 0) -> Any:
    """A small value valid for common JSON schemas: required properties, first enum value, minimal sizes.

    Covers what classifiers and extractors use (object, array, string, number, integer, boolean, null, enum,
    const, anyOf/oneOf, nested objects); ``$ref`` and pattern constraints are out of scope. ``pick`` chooses
    the value of an object property whose ``enum`` lists only strings.
    """
    if _depth > _MAX_DEPTH:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    option = next((options[0] for name in _COMBINATORS if (options := schema.get(name))), None)
    if option is not None:
        return minimal_instance(option, pick=pick, _depth=_depth + 1)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "null")
    build = _BUILDERS.get(kind)
    return build(schema, _depth + 1, pick) if build is not None else None


def _object(schema: Mapping[str, Any], depth: int, pick: EnumPick | None) -> dict[str, Any]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = schema.get("required", list(properties))
    return {name: _property(properties.get(name, {}), depth, pick) for name in required}


def _property(schema: Mapping[str, Any], depth: int, pick: EnumPick | None) -> Any:
    labels = schema.get("enum")
    if pick is not None and "const" not in schema and labels and all(isinstance(label, str) for label in labels):
        return pick(labels)
    return minimal_instance(schema, pick=pick, _depth=depth)


def _array(schema: Mapping[str, Any], depth: int, pick: EnumPick | None) -> list[Any]:
    items = schema.get("items", {})
    return [minimal_instance(items, pick=pick, _depth=depth) for _ in range(int(schema.get("minItems", 0)))]


def _string(schema: Mapping[str, Any], _depth: int, _pick: EnumPick | None) -> str:
    return "x" * int(schema.get("minLength", 0))


def _number(schema: Mapping[str, Any], _depth: int, _pick: EnumPick | None) -> float:
    if "exclusiveMinimum" in schema:
        return float(schema["exclusiveMinimum"]) + 1
    return float(schema.get("minimum", 0))


def _integer(schema: Mapping[str, Any], depth: int, pick: EnumPick | None) -> int:
    return math.ceil(_number(schema, depth, pick))


def _boolean(_schema: Mapping[str, Any], _depth: int, _pick: EnumPick | None) -> bool:
    return False


_BUILDERS: dict[str, Callable[[Mapping[str, Any], int, EnumPick | None], Any]] = {
    "object": _object,
    "array": _array,
    "string": _string,
    "number": _number,
    "integer": _integer,
    "boolean": _boolean,
}
