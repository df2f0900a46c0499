"""A PII span found in a text (its own module: the placeholder code uses it without loading Presidio)."""

from __future__ import annotations

from dataclasses import dataclass

from app.contracts.safety import PiiKind


@dataclass(frozen=True, order=True)
class Finding:
    start: int
    end: int
    kind: PiiKind
    score: float
