"""Structured outputs: answers constrained to one of a list of choices, or to a JSON schema.

vLLM guarantees the *form* (exactly one choice; JSON valid for the schema); the model decides the content.
Here the content comes from the keyword rules in ``intents``, so a classifier asked for
``["question", "complaint", "human_request"]`` about "let me talk to a human" answers ``human_request`` every time.
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


_MAX_DEPTH = 8
_COMBINATORS = ("anyOf", "oneOf", "allOf")


def minimal_instance(schema: Mapping[str, Any], *, _depth: int = 0) -> Any:
    """A small value valid for common JSON schemas: required properties, first enum value, minimal sizes.

    Covers what classifiers and extractors use (object, array, string, number, integer, boolean, null, enum,
    const, anyOf/oneOf, nested objects); ``$ref`` and pattern constraints are out of scope.
    """
    if _depth > _MAX_DEPTH:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    option = next((options[0] for name in _COMBINATORS if (options := schema.get(name))), None)
    if option is not None:
        return minimal_instance(option, _depth=_depth + 1)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "null")
    build = _BUILDERS.get(kind)
    return build(schema, _depth + 1) if build is not None else None


def _object(schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = schema.get("required", list(properties))
    return {name: minimal_instance(properties.get(name, {}), _depth=depth) for name in required}


def _array(schema: Mapping[str, Any], depth: int) -> list[Any]:
    items = schema.get("items", {})
    return [minimal_instance(items, _depth=depth) for _ in range(int(schema.get("minItems", 0)))]


def _string(schema: Mapping[str, Any], _depth: int) -> str:
    return "x" * int(schema.get("minLength", 0))


def _number(schema: Mapping[str, Any], _depth: int) -> float:
    if "exclusiveMinimum" in schema:
        return float(schema["exclusiveMinimum"]) + 1
    return float(schema.get("minimum", 0))


def _integer(schema: Mapping[str, Any], depth: int) -> int:
    return math.ceil(_number(schema, depth))


def _boolean(_schema: Mapping[str, Any], _depth: int) -> bool:
    return False


_BUILDERS: dict[str, Callable[[Mapping[str, Any], int], Any]] = {
    "object": _object,
    "array": _array,
    "string": _string,
    "number": _number,
    "integer": _integer,
    "boolean": _boolean,
}
