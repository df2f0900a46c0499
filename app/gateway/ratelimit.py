"""Requests-per-minute limits with the ``limits`` library (sliding window counter, Redis or in-process).

The sliding window counter costs one Redis call per request and two keys per identity, whatever the limit
(a moving window stores every hit: 1000 entries per enterprise key), and it does not let a client burst twice
the limit across a window boundary as a fixed window would.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis

from app.gateway.store import StoreUnavailableError


@dataclass(frozen=True)
class LimitDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int


def redis_storage(redis_url: str, redis: Redis, key_prefix: str) -> RedisStorage:
    """``limits`` storage sharing the gateway's Redis connection pool (redis-py; coredis is not shipped)."""
    shared: dict[str, Any] = {"connection_pool": redis.connection_pool}  # typed as scalars by limits
    return RedisStorage(
        f"async+{redis_url}", implementation="redispy", key_prefix=key_prefix, wrap_exceptions=True, **shared
    )


class RequestLimiter:
    def __init__(self, storage: Storage | None = None) -> None:
        self.storage = storage or MemoryStorage()
        self._limiter = SlidingWindowCounterRateLimiter(self.storage)

    async def hit(self, per_minute: int, *identifiers: str) -> LimitDecision:
        """Count one request against ``per_minute`` for ``identifiers``; the stats are read only on refusal."""
        item = RateLimitItemPerMinute(per_minute)
        try:
            if await self._limiter.hit(item, *identifiers):
                return LimitDecision(allowed=True, limit=per_minute, remaining=-1, reset_seconds=-1)
            stats = await self._limiter.get_window_stats(item, *identifiers)
        except StorageError as exc:
            raise StoreUnavailableError("The rate limiter's store (Redis) cannot be reached.") from exc
        reset = max(1, math.ceil(stats.reset_time - time.time()))
        return LimitDecision(allowed=False, limit=per_minute, remaining=stats.remaining, reset_seconds=reset)
