"""Which variant of a model a conversation talks to: by weight, and never changing during the conversation.

A conversation's bucket is a hash of its id (0-9999). The canary owns the buckets below its weight, so a
conversation on the stable variant moves only when the weight grows past its bucket. To keep a conversation on the
variant it started with while the weight moves, the first assignment is remembered (chat stores it with the
conversation and sends it back with every turn, ``pinned``); the bucket decides only for new conversations.
A rollback (weight 0) is the one case that moves pinned conversations: the canary is gone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

BUCKETS = 10_000
STABLE = "stable"
CANARY = "canary"


@dataclass(frozen=True)
class Split:
    """The variants of one served model and the canary's share of new conversations (0-1)."""

    canary_weight: float

    def __post_init__(self) -> None:
        if not 0 <= self.canary_weight <= 1:
            raise ValueError(f"canary weight {self.canary_weight} is outside 0-1")


def bucket(conversation_id: str) -> int:
    """A stable, uniform bucket for the conversation (SHA-256, so no variant can be picked by choosing ids)."""
    return int.from_bytes(hashlib.sha256(conversation_id.encode()).digest()[:8], "big") % BUCKETS


def assign(conversation_id: str, split: Split, pinned: str | None = None) -> str:
    """The variant for this turn: the pinned one while it still serves, else the bucket's."""
    if pinned == STABLE or (pinned == CANARY and split.canary_weight > 0):
        return pinned
    return CANARY if bucket(conversation_id) < round(split.canary_weight * BUCKETS) else STABLE


def shares(assignments: Mapping[str, str]) -> dict[str, float]:
    """Share of conversations per variant (for checking a split against its weight)."""
    total = len(assignments) or 1
    return {variant: sum(1 for v in assignments.values() if v == variant) / total for variant in (STABLE, CANARY)}
