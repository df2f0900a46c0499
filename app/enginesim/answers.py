"""What the simulated model says: plausible customer-support answers assembled from canned sentences.

The text depends only on the caller's seeded ``random.Random`` and the customer's message, so the same
(seed, prompt) always yields the same answer. ``finish`` then applies what vLLM's sampler would: stop strings,
``max_tokens`` (finish reason ``length``) and the end-of-sequence token (finish reason ``stop``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Literal

from app.enginesim.intents import concept_scores
from app.enginesim.tokenizer import IM_END, tokenize

#: The end-of-sequence token: generated (and counted) like any token, but it has no visible text.
EOS = IM_END

FinishReason = Literal["stop", "length"]

_OPENERS = {
    "upset": (
        "I'm really sorry about the trouble this has caused.",
        "I understand how frustrating this must be, and I apologize.",
        "I'm sorry you've had this experience.",
    ),
    "happy": ("You're very welcome!", "I'm glad I could help.", "That's great to hear."),
    "neutral": ("Thanks for reaching out.", "Happy to help with that.", "Thank you for contacting support."),
}

_TOPIC_SENTENCES = {
    "human_request": (
        "I'm connecting you with a member of our support team now.",
        "A human agent will join this conversation shortly.",
        "While you wait, I've shared the details of your request with them.",
    ),
    "billing": (
        "I've looked at the charges on your account.",
        "Invoices are issued on the first day of each billing period.",
        "You can download every invoice from the Billing page in your account settings.",
    ),
    "refund": (
        "Refunds go back to the original payment method.",
        "Once approved, a refund usually appears within five to seven business days.",
        "I've noted your refund request on the order.",
    ),
    "shipping": (
        "I've checked the status of your order.",
        "You can follow the package with the tracking link in your confirmation email.",
        "Most orders arrive within three to five business days.",
    ),
    "account": (
        "You can reset your password from the sign-in page with the Forgot password link.",
        "For your security, the account locks after several failed sign-in attempts.",
        "The lock clears automatically after fifteen minutes.",
    ),
    "technical": (
        "Let's try to fix this together.",
        "Please sign out, clear the app's cache, and sign in again.",
        "If the error persists, tell me the exact message you see and when it started.",
    ),
    "cancel": (
        "You can cancel at any time from the Subscription page.",
        "Your plan stays active until the end of the current billing period.",
        "If something isn't working for you, I'd be glad to help before you decide.",
    ),
    "greeting": ("It's nice to hear from you.", "How can I help you today?"),
}

_GENERAL_SENTENCES = (
    "I've reviewed the details you shared.",
    "Here is what I can tell you.",
    "Our help center also has step-by-step guides on this topic.",
    "I've added a note to your account so the team has the full context.",
    "Please keep this conversation open in case we need more information.",
    "I can also send a summary of these steps to your email address.",
    "Most requests like this are resolved within one business day.",
    "If anything changes on your side, just let me know here.",
)

_CLOSERS = ("Is there anything else I can help you with?", "Let me know if you have any other questions.")


@dataclass(frozen=True)
class Completion:
    """The tokens a request will generate, in order, and why generation ends after the last one."""

    tokens: list[str]
    finish_reason: FinishReason
    #: The stop string that ended generation (vLLM's ``stop_reason``), else None.
    stop_reason: str | None = None

    @property
    def text(self) -> str:
        return "".join(visible(token) for token in self.tokens)


def visible(token: str) -> str:
    """A token's text as the client sees it (special tokens are skipped, as with skip_special_tokens)."""
    return "" if token == EOS else token


def _mood(scores: dict[str, int]) -> str:
    if any(concept in scores for concept in ("angry", "frustrated", "sad", "complaint")):
        return "upset"
    if "happy" in scores:
        return "happy"
    return "neutral"


def support_sentences(customer_text: str, rng: random.Random) -> Iterator[str]:
    """An endless answer: an opener matching the customer's mood, the topic's sentences, then general ones."""
    scores = concept_scores(customer_text)
    yield rng.choice(_OPENERS[_mood(scores)])
    topics = sorted((topic for topic in scores if topic in _TOPIC_SENTENCES), key=lambda t: (-scores[t], t))
    for topic in topics[:2]:
        lead, *details = _TOPIC_SENTENCES[topic]
        yield lead
        yield from rng.sample(details, k=len(details))
    while True:
        general = list(_GENERAL_SENTENCES)
        rng.shuffle(general)
        yield from general


def compose_answer(
    customer_text: str,
    rng: random.Random,
    *,
    natural_tokens: int,
    limit: int,
    min_tokens: int = 0,
    ignore_eos: bool = False,
    stop: Sequence[str] = (),
) -> Completion:
    """An answer of about ``natural_tokens`` (whole sentences, ending with a closing question), then ``finish``.

    With ``ignore_eos`` the answer never ends on its own and runs to ``limit`` (how benchmarks fix lengths).
    """
    sentences = support_sentences(customer_text, rng)
    closer = rng.choice(_CLOSERS)
    closer_tokens = len(tokenize(" " + closer))
    target = limit if ignore_eos else max(natural_tokens, min_tokens) - closer_tokens
    tokens = tokenize(next(sentences))
    while len(tokens) < target:
        tokens.extend(tokenize(" " + next(sentences)))
    if not ignore_eos:
        tokens.extend(tokenize(" " + closer))
        tokens.append(EOS)
    return finish(tokens, limit=limit, stop=stop)


def fixed_answer(text: str, *, limit: int, stop: Sequence[str] = ()) -> Completion:
    """A constrained answer (a choice, a JSON document) followed by end-of-sequence, then ``finish``."""
    return finish([*tokenize(text), EOS], limit=limit, stop=stop)


def finish(tokens: Sequence[str], *, limit: int, stop: Sequence[str] = ()) -> Completion:
    """Cut candidate tokens where vLLM's sampler would stop: a stop string, else ``limit``, else EOS."""
    window = list(tokens[:limit])
    stop_at = _first_stop(window, stop)
    if stop_at is not None:
        cut_tokens, stop_string = stop_at
        return Completion(tokens=cut_tokens, finish_reason="stop", stop_reason=stop_string)
    ended = bool(window) and window[-1] == EOS
    return Completion(tokens=window, finish_reason="stop" if ended else "length")


def _first_stop(window: list[str], stop: Sequence[str]) -> tuple[list[str], str] | None:
    """Tokens up to the one where the earliest stop string begins (its text cut there), and that string."""
    strings = [string for string in stop if string]
    if not strings:
        return None
    text = "".join(visible(token) for token in window)
    found = [(index, string) for string in strings if (index := text.find(string)) >= 0]
    if not found:
        return None
    index, string = min(found)
    ends = list(accumulate(len(visible(token)) for token in window))
    position = next(i for i, end in enumerate(ends) if end > index)
    start = ends[position] - len(visible(window[position]))
    return [*window[:position], window[position][: index - start]], string
