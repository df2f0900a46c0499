"""Canned answers: deterministic, on topic, and cut exactly where vLLM's sampler would cut."""

from __future__ import annotations

import random

from app.enginesim.answers import EOS, compose_answer, finish, fixed_answer
from app.enginesim.tokenizer import tokenize


def _answer(text: str, seed: int = 0, **options: int | bool | tuple[str, ...]) -> tuple[list[str], str, str | None]:
    settings: dict = {"natural_tokens": 60, "limit": 1000} | options
    completion = compose_answer(text, random.Random(seed), **settings)
    return completion.tokens, completion.finish_reason, completion.stop_reason


def test_same_seed_and_message_give_the_same_answer() -> None:
    assert _answer("Where is my order?", seed=3) == _answer("Where is my order?", seed=3)
    assert _answer("Where is my order?", seed=3) != _answer("Where is my order?", seed=4)


def test_answers_are_on_topic_and_end_with_eos() -> None:
    completion = compose_answer("My package has not arrived", random.Random(1), natural_tokens=60, limit=1000)
    assert "order" in completion.text or "package" in completion.text
    assert completion.tokens[-1] == EOS
    assert completion.finish_reason == "stop"
    assert completion.text.endswith("?") or completion.text.endswith(".")
    assert not completion.text.startswith(" ")


def test_upset_customers_get_an_apology() -> None:
    completion = compose_answer("This is unacceptable!!!", random.Random(0), natural_tokens=40, limit=1000)
    assert "sorry" in completion.text.lower() or "apologize" in completion.text.lower()


def test_natural_length_is_whole_sentences_near_the_target() -> None:
    tokens, reason, _ = _answer("hello", natural_tokens=80)
    assert reason == "stop"
    assert 80 <= len(tokens) <= 80 + 40


def test_max_tokens_cuts_with_finish_reason_length() -> None:
    tokens, reason, _ = _answer("hello", limit=7)
    assert len(tokens) == 7
    assert reason == "length"
    assert EOS not in tokens


def test_ignore_eos_runs_to_the_limit() -> None:
    tokens, reason, _ = _answer("hello", ignore_eos=True, limit=500)
    assert len(tokens) == 500
    assert reason == "length"


def test_min_tokens_extends_the_answer() -> None:
    tokens, reason, _ = _answer("hello", natural_tokens=10, min_tokens=200)
    assert len(tokens) >= 200
    assert reason == "stop"


def test_stop_string_cuts_inside_the_token_and_reports_itself() -> None:
    completion = finish([*tokenize("Hello there. General Kenobi."), EOS], limit=100, stop=("Kenobi", "nothing"))
    assert completion.text == "Hello there. General "
    assert completion.finish_reason == "stop"
    assert completion.stop_reason == "Kenobi"


def test_stop_string_beyond_the_limit_does_not_apply() -> None:
    completion = finish(tokenize("one two three four"), limit=2, stop=("four",))
    assert completion.finish_reason == "length"
    assert completion.stop_reason is None


def test_fixed_answer_is_the_text_then_eos() -> None:
    completion = fixed_answer("human_request", limit=50)
    assert completion.text == "human_request"
    assert completion.tokens[-1] == EOS
    assert completion.finish_reason == "stop"
    assert fixed_answer("human_request", limit=2).finish_reason == "length"


def test_exact_length_without_room_for_eos_is_length() -> None:
    tokens = tokenize("abc def")
    assert finish([*tokens, EOS], limit=len(tokens)).finish_reason == "length"
