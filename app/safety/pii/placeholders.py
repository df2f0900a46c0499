"""Typed placeholders, numbered per conversation: the model reads "<EMAIL_1>" where the customer wrote an address,
and the same address is "<EMAIL_1>" in every later message too, so the answer still reads well ("we will write
to <EMAIL_1>") and can be given its real value back for the customer.

Replacement goes through Presidio's anonymizer (a custom operator per kind); the numbering is assigned in reading
order first, so the first email of a conversation is always ``<EMAIL_1>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from app.contracts.safety import PiiKind
from app.safety.pii.findings import Finding

if TYPE_CHECKING:
    from presidio_anonymizer import AnonymizerEngine

PLACEHOLDER = re.compile(r"<(" + "|".join(kind.value for kind in PiiKind) + r")_(\d{1,4})>")


@cache
def _anonymizer() -> AnonymizerEngine:
    from presidio_anonymizer import AnonymizerEngine  # noqa: PLC0415 -- Presidio and spaCy load on first use

    return AnonymizerEngine()


@dataclass
class PlaceholderMap:
    """One conversation's placeholders: which value each stands for. Serialised into the encrypted vault."""

    values: dict[str, str] = field(default_factory=dict)  # "<EMAIL_1>" -> "dana@example.com"

    def placeholder_for(self, kind: PiiKind, value: str) -> str:
        for placeholder, known in self.values.items():
            if known == value and placeholder.startswith(f"<{kind.value}_"):
                return placeholder
        number = 1 + sum(1 for placeholder in self.values if placeholder.startswith(f"<{kind.value}_"))
        placeholder = f"<{kind.value}_{number}>"
        self.values[placeholder] = value
        return placeholder

    def restore(self, text: str) -> str:
        """``text`` with every known placeholder replaced by its value (unknown ones stay as they are)."""
        if "<" not in text:
            return text
        return PLACEHOLDER.sub(lambda match: self.values.get(match.group(0), match.group(0)), text)

    def known_values(self) -> Mapping[str, str]:
        return self.values


@dataclass(frozen=True)
class Redaction:
    text: str
    findings: tuple[Finding, ...]

    @property
    def changed(self) -> bool:
        return bool(self.findings)


def _known_value_findings(text: str, placeholders: PlaceholderMap, taken: list[Finding]) -> list[Finding]:
    """Values this conversation already named (a name detected earlier, mentioned again without "my name is")."""
    found: list[Finding] = []
    for placeholder, value in placeholders.known_values().items():
        kind = PiiKind(PLACEHOLDER.fullmatch(placeholder).group(1))  # type: ignore[union-attr]
        for match in re.finditer(re.escape(value), text):
            candidate = Finding(match.start(), match.end(), kind, 1.0)
            if all(candidate.end <= other.start or candidate.start >= other.end for other in [*taken, *found]):
                found.append(candidate)
    return found


def redact(text: str, placeholders: PlaceholderMap, kinds: Iterable[PiiKind] | None = None) -> Redaction:
    """``text`` with its PII replaced by the conversation's placeholders (new ones are added to ``placeholders``).

    Presidio and spaCy are imported here, on first use, not with the module: they cost seconds of start-up that
    a service's health check should not wait for (``warm_up`` loads them in the background instead)."""
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult  # noqa: PLC0415

    from app.safety.pii.detector import find_pii  # noqa: PLC0415

    detected = find_pii(text, kinds)
    findings = sorted([*detected, *_known_value_findings(text, placeholders, detected)])
    if not findings:
        return Redaction(text, ())
    replacement = {(f.start, f.end): placeholders.placeholder_for(f.kind, text[f.start : f.end]) for f in findings}
    results = [RecognizerResult(f"SPAN_{i}", f.start, f.end, f.score) for i, f in enumerate(findings)]
    operators = {
        f"SPAN_{i}": OperatorConfig("replace", {"new_value": replacement[(f.start, f.end)]})
        for i, f in enumerate(findings)
    }
    anonymized = _anonymizer().anonymize(text, results, operators=operators)
    return Redaction(anonymized.text, tuple(findings))


def warm_up() -> None:
    """Load Presidio, spaCy and every recognizer now (a service calls it in a thread at start)."""
    redact("warm up: nobody@example.com", PlaceholderMap())
