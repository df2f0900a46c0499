"""Finding PII in a message: Presidio's analyzer with the recognizers we chose, and the entity types folded into
the few kinds a tenant policy and a placeholder name ("<EMAIL_1>") speak of.

The analyzer is built once per process (building it compiles every pattern: ~50 ms) and is thread-safe for
``analyze``. Recognizers:

- Presidio's: email, phone (``phonenumbers``, the regions below), payment card (Luhn-checked), IBAN (checksum),
  IP address, US SSN, UK National Insurance number, UK postcode;
- ours (``recognizers``): street addresses and introduced person names.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UkNinoRecognizer,
    UkPostcodeRecognizer,
    UsSsnRecognizer,
)

from app.contracts.safety import PiiKind
from app.safety.pii.findings import Finding
from app.safety.pii.nlp import LANGUAGE, BlankSpacyNlpEngine
from app.safety.pii.recognizers import OfflineEmailRecognizer, PersonNameRecognizer, StreetAddressRecognizer

#: Where phone numbers are parsed as local numbers (international "+CC ..." numbers are found from any region).
PHONE_REGIONS = ("US", "GB", "IE", "DE", "FR", "ES", "NL", "CA", "AU")
#: Below this confidence a match is not PII (Presidio's weak patterns start at 0.05-0.1 and rise with context).
SCORE_THRESHOLD = 0.4


#: The kinds with a fixed format (checked by pattern and often a checksum); the issue's recall bar is on these.
STRUCTURED_KINDS = frozenset(
    {PiiKind.EMAIL, PiiKind.PHONE, PiiKind.CARD, PiiKind.IBAN, PiiKind.NATIONAL_ID, PiiKind.IP_ADDRESS}
)

KIND_OF_ENTITY: dict[str, PiiKind] = {
    "EMAIL_ADDRESS": PiiKind.EMAIL,
    "PHONE_NUMBER": PiiKind.PHONE,
    "CREDIT_CARD": PiiKind.CARD,
    "IBAN_CODE": PiiKind.IBAN,
    "US_SSN": PiiKind.NATIONAL_ID,
    "UK_NINO": PiiKind.NATIONAL_ID,
    "IP_ADDRESS": PiiKind.IP_ADDRESS,
    "STREET_ADDRESS": PiiKind.ADDRESS,
    "UK_POSTCODE": PiiKind.ADDRESS,
    "PERSON": PiiKind.PERSON,
}


def _recognizers() -> list[EntityRecognizer]:
    return [
        OfflineEmailRecognizer(),
        PhoneRecognizer(supported_regions=PHONE_REGIONS),
        CreditCardRecognizer(),
        IbanRecognizer(),
        IpRecognizer(),
        UsSsnRecognizer(),
        UkNinoRecognizer(),
        UkPostcodeRecognizer(),
        StreetAddressRecognizer(),
        PersonNameRecognizer(),
    ]


@cache
def analyzer() -> AnalyzerEngine:
    """The process's analyzer (built on first use)."""
    registry = RecognizerRegistry(recognizers=_recognizers(), supported_languages=[LANGUAGE])
    nlp_engine = BlankSpacyNlpEngine()
    nlp_engine.load()
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE])


def find_pii(text: str, kinds: Iterable[PiiKind] | None = None) -> list[Finding]:
    """The PII spans of ``text`` (of ``kinds``, default all), without overlaps: where two recognizers claim
    overlapping text the longer span wins, then the higher score."""
    wanted = set(PiiKind) if kinds is None else set(kinds)
    entities = [entity for entity, kind in KIND_OF_ENTITY.items() if kind in wanted]
    if not text or not entities:
        return []
    results = analyzer().analyze(text, language=LANGUAGE, entities=entities, score_threshold=SCORE_THRESHOLD)
    candidates = sorted(
        (Finding(r.start, r.end, KIND_OF_ENTITY[r.entity_type], r.score) for r in results),
        key=lambda f: (-(f.end - f.start), -f.score, f.start),
    )
    kept: list[Finding] = []
    for finding in candidates:
        if all(finding.end <= other.start or finding.start >= other.end for other in kept):
            kept.append(finding)
    return sorted(kept)
