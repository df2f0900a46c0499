"""Exponential backoff with full jitter, for reconnect loops (the Kubernetes watch).

Full jitter (a uniform delay between 0 and the exponential cap) keeps many router replicas that lost the API
server at the same moment from reconnecting in lockstep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base_seconds: float = 0.5
    max_seconds: float = 30.0
    attempt: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def next_delay(self) -> float:
        """The delay before the next attempt; each failure doubles the cap, up to ``max_seconds``."""
        cap = min(self.max_seconds, self.base_seconds * 2**self.attempt)
        self.attempt += 1
        return self._random.uniform(0, cap)

    def reset(self) -> None:
        """After a success: the next failure starts again from ``base_seconds``."""
        self.attempt = 0
