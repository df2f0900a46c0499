"""What each API key tier may do: the product's limits table, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from app.contracts.api import Tier


@dataclass(frozen=True)
class TierPolicy:
    requests_per_minute: int
    tokens_per_day: int | None  # None: unlimited
    concurrent_streams: int

    @property
    def rate_policy(self) -> str:
        """The ``RateLimit-Policy`` value (IETF draft: quota;w=window-seconds)."""
        return f"{self.requests_per_minute};w=60"


TIER_POLICIES: dict[Tier, TierPolicy] = {
    Tier.FREE: TierPolicy(requests_per_minute=10, tokens_per_day=10_000, concurrent_streams=2),
    Tier.STANDARD: TierPolicy(requests_per_minute=100, tokens_per_day=1_000_000, concurrent_streams=20),
    Tier.ENTERPRISE: TierPolicy(requests_per_minute=1000, tokens_per_day=None, concurrent_streams=200),
}
