"""A limit on new widget visitor sessions per client address: ``POST /v1/widget/sessions`` needs no credential.

Visitor tokens are stateless, but each request costs auth three lookups and hands out a token whose requests
are charged to the tenant's key: a script minting them in a loop would load auth and burn the key's rate limit
for the real visitors. A browser needs one session per visitor per 13 minutes (the frame renews before the
15-minute token ends), so the default (30 a minute per address) leaves room for many visitors behind one NAT.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from app.core.metrics import METRICS
from app.gateway.admission import RateLimitedError, rate_limit_headers
from app.gateway.store import StoreUnavailableError


class VisitorSessionThrottle:
    def __init__(self, storage: Storage, *, per_client_per_minute: int) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._item = RateLimitItemPerMinute(per_client_per_minute)

    async def admit(self, client: str) -> None:
        """Count one session for ``client``; 429 with Retry-After once it has had its share of the minute."""
        try:
            if await self._limiter.hit(self._item, "widget-session", client):
                return
            stats = await self._limiter.get_window_stats(self._item, "widget-session", client)
        except StorageError as exc:
            raise StoreUnavailableError("The widget throttle's store (Redis) cannot be reached.") from exc
        reset_seconds = max(1, math.ceil(stats.reset_time - time.time()))
        limit = self._item.amount
        METRICS.rate_limit_rejections_total.labels(tier="widget-session", limit="requests").inc()
        raise RateLimitedError(
            f"Too many new chat sessions from this address; try again in {reset_seconds} s.",
            headers=rate_limit_headers(limit=limit, remaining=0, reset_seconds=reset_seconds, policy=f"{limit};w=60"),
        )
