"""The prompt: the assistant's instructions plus the newest history that fits the model's context window.

Token counts are estimated from characters (no tokenizer in the service: loading one per model would cost
memory and start-up time for a number the engine checks anyway). The estimate is deliberately pessimistic
(``chars_per_token`` below the ~4 of English text) and a margin is kept; the engine's own context check is
the backstop and becomes a clear ``context-length-exceeded`` problem.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.chat.errors import MessageTooLongError
from app.contracts.internal import HistoryMessage

#: Chat-template tokens around each message (role markers, separators): ~4 in ChatML.
MESSAGE_OVERHEAD_TOKENS = 4
#: Template tokens of the request as a whole (a default system turn, the generation prompt): seen as 2-3 on Qwen.
PROMPT_OVERHEAD_TOKENS = 8
#: The shortest answer worth generating under a token budget; a budget leaving less refuses the request (429).
MIN_ANSWER_TOKENS = 16


@dataclass(frozen=True)
class ContextBudget:
    max_model_len: int
    max_tokens: int  # reserved for the answer
    margin_tokens: int
    chars_per_token: float

    @property
    def prompt_tokens(self) -> int:
        return self.max_model_len - self.max_tokens - self.margin_tokens

    def estimate(self, text: str) -> int:
        return estimate_tokens(text, self.chars_per_token)


def estimate_tokens(text: str, chars_per_token: float) -> int:
    """A message's tokens, pessimistically, with its chat-template overhead."""
    return math.ceil(len(text) / chars_per_token) + MESSAGE_OVERHEAD_TOKENS


def within_token_budget(budget: ContextBudget, tokens: int, essential_prompt_tokens: int) -> ContextBudget | None:
    """The context budget of a request that may spend at most ``tokens`` (prompt + answer; the quota reservation
    the gateway made): the answer gets what the essential prompt (system prompt + newest message) leaves, up to
    its usual ``max_tokens``, and the history gets the rest. None when fewer than ``MIN_ANSWER_TOKENS`` are left."""
    answer = min(budget.max_tokens, tokens - essential_prompt_tokens - PROMPT_OVERHEAD_TOKENS)
    if answer < MIN_ANSWER_TOKENS:
        return None
    return ContextBudget(
        max_model_len=min(budget.max_model_len, tokens + budget.margin_tokens),
        max_tokens=answer,
        margin_tokens=budget.margin_tokens,
        chars_per_token=budget.chars_per_token,
    )


def build_messages(
    system_prompt: str, history: Sequence[HistoryMessage], budget: ContextBudget
) -> list[dict[str, str]]:
    """System prompt + the newest history messages that fit, oldest first; the newest is always kept.

    Raises ``MessageTooLongError`` when the system prompt and the newest message alone do not fit.
    """
    if not history:
        raise ValueError("history must end with the customer's new message")
    remaining = budget.prompt_tokens - budget.estimate(system_prompt)
    kept: list[HistoryMessage] = []
    for message in reversed(history):
        cost = budget.estimate(message.content)
        if cost > remaining:
            break
        kept.append(message)
        remaining -= cost
    if not kept:
        raise MessageTooLongError(
            "The message is too long for the assistant's context window; shorten it.",
            max_prompt_tokens=budget.prompt_tokens,
        )
    return [{"role": "system", "content": system_prompt}] + [
        {"role": message.role, "content": message.content} for message in reversed(kept)
    ]


def fits_alone(system_prompt: str, message: str, budget: ContextBudget) -> bool:
    """Whether a new message could be answered at all (checked before it is stored)."""
    return budget.estimate(system_prompt) + budget.estimate(message) <= budget.prompt_tokens
