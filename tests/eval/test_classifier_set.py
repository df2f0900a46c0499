"""The golden set is what its datasheet says: enough items, every label, two languages or more, hard cases; and a
bad labelled file is refused naming every bad line."""

from __future__ import annotations

from collections import Counter

import pytest

from app.chat.escalation import EMOTIONS, INTENTS
from eval.classifier import dataset


@pytest.fixture(scope="module")
def golden() -> list[dataset.LabelledMessage]:
    return dataset.load(dataset.GOLDEN_SET)


def test_the_golden_set_covers_every_label_in_several_languages(golden: list[dataset.LabelledMessage]) -> None:
    assert len(golden) >= 300
    intents, emotions = Counter(i.intent for i in golden), Counter(i.emotion for i in golden)
    assert set(intents) == set(INTENTS)
    assert min(intents.values()) >= 20  # every intent has enough support for its recall to mean something
    assert set(emotions) == set(EMOTIONS)
    assert min(emotions.values()) >= 15
    languages = Counter(i.lang for i in golden)
    assert len(languages) >= 2
    assert sorted(languages.values())[-2] >= 50  # the second language is not a token
    tags = Counter(t for i in golden for t in i.tags)
    for hard in ("sarcasm", "mixed_intent", "typo", "no_keyword"):
        assert tags[hard] >= 10, hard


def test_the_datasheet_states_the_current_balance(golden: list[dataset.LabelledMessage]) -> None:
    sheet = (dataset.HERE / "DATASHEET.md").read_text()
    assert f"{len(golden)} messages" in sheet
    for intent, count in Counter(i.intent for i in golden).items():
        assert f"{intent} {count}" in sheet, intent


def test_a_bad_file_is_refused_with_every_problem_named() -> None:
    lines = [
        '{"id": "a", "lang": "en", "text": "hi", "intent": "greeting", "emotion": "neutral"}',
        '{"id": "a", "lang": "en", "text": "bye", "intent": "goodbye", "emotion": "neutral"}',
        '{"id": "b", "lang": "en", "text": "x", "intent": "smalltalk", "emotion": "bored", "tags": ["irony"]}',
        "not json",
    ]
    with pytest.raises(dataset.DatasetError) as caught:
        dataset.parse(lines, name="set.jsonl")
    problems = caught.value.problems
    assert "set.jsonl:2: id 'a' repeats line 1" in problems
    assert any(p.startswith("set.jsonl:3: intent 'smalltalk' is not a label; allowed: human_request") for p in problems)
    assert any(p.startswith("set.jsonl:3: emotion 'bored'") for p in problems)
    assert any(p.startswith("set.jsonl:3: tags ['irony']") for p in problems)
    assert any(p.startswith("set.jsonl:4: not JSON") for p in problems)


def test_the_fingerprint_changes_with_a_label_not_with_order(golden: list[dataset.LabelledMessage]) -> None:
    first = golden[0]
    relabelled = [dataset.LabelledMessage(**{**first.as_json(), "tags": tuple(first.tags), "intent": "question"})]
    assert dataset.fingerprint(golden) == dataset.fingerprint(list(reversed(golden)))
    assert dataset.fingerprint(golden) != dataset.fingerprint(relabelled + golden[1:])
