"""The tokenizer stand-in: one rule for counting, context checks and cache blocks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.enginesim.tokenizer import IM_END, IM_START, count_tokens, render_chat, tokenize


def test_round_trips_and_counts_about_four_characters_per_token() -> None:
    text = "Hello, I was charged twice on my last invoice and I would like a refund.\nThanks!"
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert count_tokens(text) == len(tokens)
    assert 3.0 <= len(text) / len(tokens) <= 4.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("customer", ["cust", "omer"]),
        (" service", [" serv", "ice"]),
        ("a\n\nb", ["a", "\n", "\n", "b"]),
        ("two  spaces", ["two", " ", " spac", "es"]),
        (f"{IM_START}user\nhi{IM_END}", [IM_START, "user", "\n", "hi", IM_END]),
    ],
)
def test_rule(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_special_tokens_are_one_token_and_never_absorbed() -> None:
    assert tokenize(f"done.{IM_END}") == ["done", ".", IM_END]
    assert tokenize("a<|im_foo") == ["a<|i", "m_fo", "o"], "only the real special tokens are special"


PIECES = st.sampled_from(["a", "bc", " ", "\n", IM_START, IM_END, "<|im_", "<", "|>", "é", "\t", "!"])


@given(st.lists(PIECES).map("".join))
def test_tokens_always_join_back_to_the_text(text: str) -> None:
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert all(tokens)
    assert count_tokens(text) == len(tokens)


@given(st.text(), st.text())
def test_tokenizing_after_a_newline_or_special_token_is_compositional(head: str, tail: str) -> None:
    for boundary in ("\n", IM_END):
        assert tokenize(head + boundary + tail) == tokenize(head + boundary) + tokenize(tail)


def test_chat_template_is_chatml_with_generation_prompt() -> None:
    prompt = render_chat([("system", "Be brief."), ("user", "Hi")])
    assert prompt == f"{IM_START}system\nBe brief.{IM_END}\n{IM_START}user\nHi{IM_END}\n{IM_START}assistant\n"
    assert not render_chat([("user", "Hi")], add_generation_prompt=False).endswith(f"{IM_START}assistant\n")


def test_next_turn_retokenizes_to_previous_prompt_plus_answer() -> None:
    """What makes prefix caching work across turns: no token spans the prompt/answer/template boundaries."""
    first = render_chat([("system", "You are a support assistant."), ("user", "Where is my parcel?")])
    answer = "It left our warehouse yesterday and should arrive tomorrow."
    second = render_chat(
        [
            ("system", "You are a support assistant."),
            ("user", "Where is my parcel?"),
            ("assistant", answer),
            ("user", "Thanks!"),
        ]
    )
    cached = tokenize(first) + tokenize(answer)
    assert tokenize(second)[: len(cached)] == cached
