"""The recognizers we add to Presidio's: street addresses and person names, the two types the issue asks for
that Presidio only finds with a statistical NER model (which we cannot ship, see ``nlp``), and an email
recognizer that never goes online.

Both are deliberately conservative pattern recognizers: an address needs a house number and a street-type word;
a name needs a phrase that introduces one ("my name is", "this is", a sign-off) followed by capitalised words.
Names mentioned without such a phrase are missed, and measured as missed (``make eval-pii``).
Case-sensitive parts use ``(?-i:...)``: Presidio matches with IGNORECASE by default.
"""

from __future__ import annotations

import re

import tldextract
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import EmailRecognizer

#: The public-suffix list shipped inside tldextract: never fetched at run time (its default downloads it).
_OFFLINE_SUFFIXES = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer, validating the domain against tldextract's bundled suffix list instead of one
    downloaded on first use (a pod without internet waited on DNS, then logged a traceback, per process)."""

    def validate_result(self, pattern_text: str) -> bool:
        return _OFFLINE_SUFFIXES(pattern_text).fqdn != ""


STREET_TYPES = (
    "street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|close|crescent|"
    "terrace|square|sq|highway|hwy|parkway|pkwy|gardens|grove|row|mews|strasse|straße"
)
_CAPITALISED = r"(?-i:[A-Z][a-zA-Z'\-]+)"
_STREET_LINE = (
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:{_CAPITALISED}\s+){{1,4}}(?:{STREET_TYPES})\b\.?(?:\s+(?-i:[NS][EW]?|[EW])\b)?"
)
_UNIT = r"(?:,?\s+(?:apt|apartment|suite|unit|flat)\.?\s*#?\w{1,6})?"
_TOWN = rf"(?:,\s*{_CAPITALISED}\b(?:\s{_CAPITALISED}\b){{0,2}})?"
_POSTAL_CODE = r"(?:,?\s+(?:(?-i:[A-Z]{2})\s+\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})\b)?"


class StreetAddressRecognizer(PatternRecognizer):
    """``12 Baker Street``, ``221B Baker St., London``, ``1600 Pennsylvania Avenue, Washington, DC 20500``."""

    PATTERNS = (Pattern("street address", _STREET_LINE + _UNIT + _TOWN + _POSTAL_CODE, 0.6),)
    CONTEXT = ("address", "live", "ship", "deliver", "delivery", "send", "moved")

    def __init__(self) -> None:
        super().__init__(
            supported_entity="STREET_ADDRESS",
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            name="StreetAddressRecognizer",
        )


#: Phrases that introduce a person's name; the name is the capitalised words right after one.
_INTRODUCERS = (
    r"my name is",
    r"my name's",
    r"name is",
    r"name:",
    r"this is",
    r"i am",
    r"i'm",
    r"im",
    r"call me",
    r"speak to",
    r"spoke (?:to|with)",
    r"talked to",
    r"account holder",
    r"(?:in|under) the name(?: of)?",
    r"addressed to",
    r"on behalf of",
    r"my (?:wife|husband|son|daughter|partner|colleague|manager|mother|father|friend)",
    r"regards,",
    r"thanks,",
    r"thank you,",
    r"cheers,",
    r"best,",
    r"sincerely,",
)
_NAME = rf"({_CAPITALISED}(?:\s+{_CAPITALISED}){{0,2}})"
_NAME_AFTER_INTRODUCER = re.compile(rf"\b(?:{'|'.join(_INTRODUCERS)})\s+{_NAME}", re.IGNORECASE | re.MULTILINE)
#: Capitalised words that follow "I'm"/"this is" without being names (sentence starts, feelings, products).
NOT_NAMES = frozenset(
    [
        "a",
        "an",
        "the",
        "not",
        "so",
        "very",
        "really",
        "still",
        "just",
        "trying",
        "writing",
        "calling",
        "looking",
        "having",
        "getting",
        "going",
        "here",
        "there",
        "again",
        "sorry",
        "happy",
        "angry",
        "upset",
        "frustrated",
        "confused",
        "worried",
        "ridiculous",
        "unacceptable",
        "urgent",
        "important",
        "about",
        "regarding",
        "my",
        "your",
        "our",
        "it",
        "this",
        "that",
        "what",
        "why",
        "how",
        "when",
        "where",
        "who",
        "hello",
        "hi",
        "hey",
        "thanks",
        "thank",
        "please",
        "ok",
        "okay",
        "yes",
        "no",
        "i",
        "we",
        "you",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "customer",
        "support",
        "team",
        "order",
        "account",
        "premium",
        "pro",
        "plus",
        "gold",
        "new",
        "done",
        "fine",
        "good",
        "great",
        "interested",
        "unable",
        "able",
        "sure",
        "ready",
        "back",
        "out",
        "in",
        "on",
        "at",
        "with",
        "for",
        "from",
        "disappointed",
        "concerned",
        "available",
        "also",
        "now",
        "then",
        "today",
        "tomorrow",
        "yesterday",
    ]
)


class PersonNameRecognizer(EntityRecognizer):
    """Person names introduced by a phrase ("my name is Dana Whitfield", "Thanks, Omar"). The span is the name
    only, never the phrase, so the placeholder reads "my name is <PERSON_1>"."""

    SCORE = 0.7

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"], name="PersonNameRecognizer", supported_language="en")

    def load(self) -> None:
        return

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        for match in _NAME_AFTER_INTRODUCER.finditer(text):
            words = match.group(1).split()
            while words and words[-1].lower().strip(".") in NOT_NAMES:
                words.pop()
            if not words or words[0].lower() in NOT_NAMES:
                continue
            start = match.start(1)
            end = start + len(" ".join(words)) if len(words) == len(match.group(1).split()) else None
            if end is None:  # words were dropped from the end: find where the kept ones stop
                end = start
                for word in words:
                    end = text.index(word, end) + len(word)
            results.append(RecognizerResult("PERSON", start, end, self.SCORE))
        return results
