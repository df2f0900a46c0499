"""The output guardrail: the answer is checked while it streams, and only checked text is released.

What is held back: the word still being written (the text after the last space), and a trailing run of words
that could be the start of a number, an address or an identifier (words with digits, ``@``, ``+``), so a card or
phone number split over several tokens is whole before any of it is shown. Everything released has passed the
checks below on a window that reaches back over the previous release, so a match across a release boundary is
still seen. The one exception, for the time to first token: the answer's first word is released as soon as it
arrives when it is letters only, maybe with an apostrophe or a closing comma or mark (``I'm``, ``Hi,``: it cannot
be the start of any structured PII), and not the start of a blocked word.

Checks: the system prompt leaking (any ``LEAK_SHINGLE_WORDS`` consecutive words of it), PII the customer did not
give (emails, cards, IBANs, phones, national ids that are neither a value of this conversation nor in the tenant's
own prompt), and toxic or off-policy words. A prompt leak is caught at its ``LEAK_SHINGLE_WORDS``-th word: the
words before it, harmless alone, may have been shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from app.core.log_redaction import find_pii_shaped

LEAK_SHINGLE_WORDS = 6
#: How far a check reaches back before the new text (longer than any pattern, and than a shingle).
LOOKBACK_CHARS = 120
_WORD = re.compile(r"\w+")
_PII_ISH = re.compile(r"[\d@+]")
#: A first word released before its end is seen: letters, an apostrophe ("I'm"), a closing mark ("Hi,", "Sorry!").
#: Never digits, ``+``, ``@`` or ``.``, which could be the start of a number, an email or an address.
_FIRST_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]*)?[,!?;:]?")
_BLOCKED = re.compile(
    r"\b(?:fuck\w*|shit\w*|bitch\w*|bastard\w*|asshole\w*|cunt\w*|idiot\w*|moron\w*|retard\w*|stupid customer|"
    r"kill yourself|nigg\w*|fag\w*)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class OutputFlag:
    category: str  # prompt_leak, pii_not_given, toxic
    reason: str


def _shingles(text: str) -> frozenset[tuple[str, ...]]:
    words = [w.lower() for w in _WORD.findall(text)]
    return frozenset(tuple(words[i : i + LEAK_SHINGLE_WORDS]) for i in range(len(words) - LEAK_SHINGLE_WORDS + 1))


@dataclass
class StreamGuard:
    """Feed the answer's pieces in order; each call returns the text now safe to show (possibly empty)."""

    system_prompt: str
    allowed_values: Iterable[str] = ()
    flag: OutputFlag | None = None
    _text: str = ""
    _released: int = 0
    _prompt_shingles: frozenset[tuple[str, ...]] = field(default_factory=frozenset)
    _allowed: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        self._prompt_shingles = _shingles(self.system_prompt)
        self._allowed = frozenset(_normal(v) for v in self.allowed_values) | frozenset(
            _normal(v) for v in find_pii_shaped(self.system_prompt)
        )

    @property
    def released_text(self) -> str:
        return self._text[: self._released]

    def feed(self, piece: str) -> str:
        if self.flag is not None:
            return ""
        self._text += piece
        return self._release(self._safe_end())

    def finish(self) -> str:
        """The end of the answer: everything left is checked and released (or the answer is flagged)."""
        if self.flag is not None:
            return ""
        return self._release(len(self._text))

    def _safe_end(self) -> int:
        text = self._text
        if not re.search(r"\s", text):  # the first word: released at once when it cannot start any PII
            return len(text) if _FIRST_WORD.fullmatch(text) and not _blocked_prefix(text) else self._released
        end = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t")) + 1
        while end > self._released:  # hold a trailing run of PII-ish words back, whole
            start = max(text.rfind(" ", 0, end - 1), text.rfind("\n", 0, end - 1)) + 1
            if _PII_ISH.search(text[start:end]) is None:
                break
            end = start
        return max(end, self._released)

    def _release(self, end: int) -> str:
        if end <= self._released:
            return ""
        window_start = max(0, self._released - LOOKBACK_CHARS)
        self.flag = self._check(self._text[window_start:end])
        if self.flag is not None:
            return ""
        released, self._released = self._text[self._released : end], end
        return released

    def _check(self, window: str) -> OutputFlag | None:
        if self._prompt_shingles and not _shingles(window).isdisjoint(self._prompt_shingles):
            return OutputFlag("prompt_leak", f"{LEAK_SHINGLE_WORDS} consecutive words of the system prompt")
        for value in find_pii_shaped(window):
            if _normal(value) not in self._allowed:
                return OutputFlag("pii_not_given", "PII the customer did not give")
        if _BLOCKED.search(window):
            return OutputFlag("toxic", "blocked word")
        return None


def _normal(value: str) -> str:
    return re.sub(r"[\s().-]", "", value).lower()


def _blocked_prefix(word: str) -> bool:
    lowered = word.lower()
    return any(lowered.startswith(stem) for stem in ("fu", "sh", "bi", "ba", "as", "cu", "id", "mo", "re", "ni", "fa"))
