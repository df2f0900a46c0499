"""Grounded prompts: when the customer's message carries numbered passages (chat's ``<context>`` block), the
simulated model answers extractively from them, deterministically: the sentence that shares most words with the
question, and the one after it, with the passage's citation mark. So a test can assert that an answer states the
refund window its article states, and ``make run`` shows answers that come from the demo help centre.
"""

from __future__ import annotations

import re

_CONTEXT = re.compile(r"<context>\n(?P<passages>.*?)\n</context>\s*Customer question:\s*(?P<question>.*)", re.DOTALL)
_PASSAGE = re.compile(r"^\[(?P<n>\d+)\] (?P<label>[^\n]*?): (?P<text>.*)$", re.MULTILINE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[^\W_]{3,}", re.UNICODE)
_COMMON = frozenset(
    [
        "the",
        "and",
        "you",
        "your",
        "for",
        "can",
        "are",
        "with",
        "our",
        "that",
        "this",
        "what",
        "how",
        "when",
        "does",
        "from",
        "have",
        "will",
    ]
)


def _words(text: str) -> set[str]:
    return {word[:6] for word in _WORD.findall(text.casefold()) if word not in _COMMON}  # 6: a poor man's stem


def grounded_answer(message: str) -> str | None:
    """The extractive answer to a message with a context block, or None for any other message."""
    match = _CONTEXT.search(message)
    if match is None:
        return None
    question = _words(match.group("question"))
    best: tuple[int, int, int, list[str], str] | None = None  # (score, -passage, -sentence, sentences, mark)
    for passage in _PASSAGE.finditer(match.group("passages")):
        sentences = [s for s in _SENTENCE.split(passage.group("text").strip()) if s]
        label_bonus = len(question & _words(passage.group("label")))
        for index, sentence in enumerate(sentences):
            score = 2 * len(question & _words(sentence)) + label_bonus
            candidate = (score, -int(passage.group("n")), -index, sentences, passage.group("n"))
            if best is None or candidate[:3] > best[:3]:
                best = candidate
    if best is None:
        return "I could not find that in our help centre."
    _, _, negative_index, sentences, mark = best
    chosen = sentences[-negative_index : -negative_index + 2]
    return f"According to our help centre: {' '.join(chosen)} [{mark}]"
