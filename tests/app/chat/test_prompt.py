"""The prompt window: newest history first within the budget, the newest message always, or a clear refusal."""

from __future__ import annotations

import pytest

from app.chat.errors import MessageTooLongError
from app.chat.prompt import MESSAGE_OVERHEAD_TOKENS, ContextBudget, build_messages, fits_alone
from app.contracts.internal import HistoryMessage

BUDGET = ContextBudget(max_model_len=200, max_tokens=50, margin_tokens=10, chars_per_token=4.0)


def history(*contents: str) -> list[HistoryMessage]:
    return [HistoryMessage(role="user" if i % 2 == 0 else "assistant", content=c) for i, c in enumerate(contents)]


def test_estimate_is_characters_over_ratio_plus_template_overhead() -> None:
    assert BUDGET.prompt_tokens == 140
    assert BUDGET.estimate("abcd" * 10) == 10 + MESSAGE_OVERHEAD_TOKENS
    assert BUDGET.estimate("abc") == 1 + MESSAGE_OVERHEAD_TOKENS


def test_everything_fits() -> None:
    messages = build_messages("Be nice.", history("hi", "hello", "help"), BUDGET)
    assert messages == [
        {"role": "system", "content": "Be nice."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "help"},
    ]


def test_the_oldest_messages_are_dropped_first() -> None:
    long = "x" * 200  # 50 + 4 tokens each
    messages = build_messages("sys", history(long, long, long, "newest"), BUDGET)
    # 140 - 5 (system) = 135: "newest" (6) + two long ones (54 each) fit, the oldest does not.
    assert [m["content"] for m in messages] == ["sys", long, long, "newest"]


def test_a_gap_ends_the_window_instead_of_skipping_messages() -> None:
    huge = "x" * 600
    messages = build_messages("sys", history("old", huge, "newest"), BUDGET)
    assert [m["content"] for m in messages] == ["sys", "newest"]  # never "old" without what followed it


def test_the_newest_message_alone_too_long_is_refused() -> None:
    with pytest.raises(MessageTooLongError):
        build_messages("sys", history("x" * 1000), BUDGET)
    assert not fits_alone("sys", "x" * 1000, BUDGET)
    assert fits_alone("sys", "x" * 100, BUDGET)


def test_history_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="history"):
        build_messages("sys", [], BUDGET)
