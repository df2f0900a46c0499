"""What each API key tier may do: the product's limits table, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from app.contracts.api import Tier


@dataclass(frozen=True)
class TierPolicy:
    requests_per_minute: int
    tokens_per_day: int | None  # None: unlimited; shared by all of a tenant's keys of this tier
    concurrent_streams: int
    #: The most one model request may cost (prompt + answer), reserved from the quota before the engine is called;
    #: chat fits the prompt's history and ``max_tokens`` into it. None: no quota, nothing reserved.
    request_token_budget: int | None

    @property
    def rate_policy(self) -> str:
        """The ``RateLimit-Policy`` value (IETF draft: quota;w=window-seconds)."""
        return f"{self.requests_per_minute};w=60"


TIER_POLICIES: dict[Tier, TierPolicy] = {
    Tier.FREE: TierPolicy(
        requests_per_minute=10, tokens_per_day=10_000, concurrent_streams=2, request_token_budget=2_048
    ),
    Tier.STANDARD: TierPolicy(
        requests_per_minute=100, tokens_per_day=1_000_000, concurrent_streams=20, request_token_budget=16_384
    ),
    Tier.ENTERPRISE: TierPolicy(
        requests_per_minute=1000, tokens_per_day=None, concurrent_streams=200, request_token_budget=None
    ),
}
#: Less than this left of a quota is not worth a request (the prompt alone would not fit): 429 instead.
MIN_TOKEN_GRANT = 64
