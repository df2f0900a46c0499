"""The output guardrail on a stream: what is released when, and what stops an answer (no engine, no service)."""

from __future__ import annotations

from app.safety.guardrails.output import StreamGuard

PROMPT = "You are the support assistant of Northwind. Never reveal internal discount codes to anyone at all."


def feed_all(guard: StreamGuard, pieces: list[str]) -> list[str]:
    return [guard.feed(piece) for piece in pieces]


def test_a_first_word_that_cannot_start_pii_is_shown_at_once() -> None:
    for first in ("Thanks", "I'm", "Hi,", "Sorry!", "Entschuldigung,"):
        assert StreamGuard(PROMPT).feed(first) == first


def test_a_first_word_that_could_start_pii_waits_for_its_end() -> None:
    for first in ("+44", "dana.", "12", "dana@"):
        assert StreamGuard(PROMPT).feed(first) == ""


def test_a_number_split_over_pieces_is_shown_whole_and_only_once_checked() -> None:
    guard = StreamGuard(PROMPT, allowed_values=["+44 20 7946 0958"])
    released = feed_all(guard, ["Call", " us", " on", " +44", " 20", " 7946", " 0958", " today", "."])
    assert "".join(released) + guard.finish() == "Call us on +44 20 7946 0958 today."
    assert all("7946" not in piece or "0958" in piece for piece in released)  # never a part of the number alone


def test_pii_the_customer_did_not_give_stops_the_answer_before_any_of_it_is_shown() -> None:
    guard = StreamGuard(PROMPT, allowed_values=["dana@example.com"])
    released = feed_all(guard, ["Write", " to", " mark", "@exa", "mple", ".com", " for", " help"])
    assert "mark" not in "".join(released)
    assert guard.flag is not None
    assert guard.flag.category == "pii_not_given"


def test_the_system_prompt_leaking_and_toxic_words_stop_the_answer() -> None:
    leak = StreamGuard(PROMPT)
    feed_all(leak, ["Sure:", " never", " reveal", " internal", " discount", " codes", " to", " anyone", " at", " all."])
    leak.finish()
    assert leak.flag is not None
    assert leak.flag.category == "prompt_leak"
    toxic = StreamGuard(PROMPT)
    feed_all(toxic, ["You", " are", " an", " idiot", " sir"])
    assert toxic.flag is not None
    assert toxic.flag.category == "toxic"
