"""The gateway's shared state: verified-key cache, key states (revocation), token quotas, concurrent-stream leases.

Token quotas are one counter per tenant, key tier and UTC day. A request *reserves* what it may cost before the
engine is called and *settles* to its real usage when it ends (``reserve_tokens`` / ``charge_tokens`` with the
difference). The reservation is a Lua script, not the ``limits`` library: ``limits`` can add a cost and refuse
beyond a limit, but it cannot grant the part of a request that still fits, nor give back what a request did not
use, and both must be atomic against every other gateway replica.

Redis in every deployment (all gateway replicas see the same counters); an in-process store for ``make run``
without Redis, which is only correct for a single gateway process. Each request does at most two round trips:
the key cache lookup (API keys only) and one pipeline for revocation + tokens used today.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.contracts import problems
from app.contracts.internal import VerifiedKey
from app.core.api_keys import KEY_STATE_ACTIVE, KEY_STATE_REVOKED, KeyspaceLayout
from app.core.errors import ProblemError

#: Counters of a day live two days: long enough to read yesterday's total, short enough to clean themselves.
TOKEN_COUNTER_TTL_SECONDS = 2 * 86400

# Drop expired leases, refuse when the key is at its cap, else add the lease. Atomic: two gateways racing for
# the last slot cannot both win. KEYS[1] = the key's lease set; ARGV = now_ms, expiry_ms, cap, lease, ttl_ms.
_ACQUIRE_LEASE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""

# Grant up to ARGV[2] tokens of what is left of the day's quota ARGV[1], if at least ARGV[3] are left; count the
# grant at once. KEYS[1] = the tenant-tier-day counter; ARGV[4] = its TTL. Returns {granted, left after}.
_RESERVE_TOKENS = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = tonumber(ARGV[1]) - used
if left < tonumber(ARGV[3]) then
  return {0, left}
end
local grant = math.min(tonumber(ARGV[2]), left)
redis.call('INCRBY', KEYS[1], grant)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {grant, left - grant}
"""


@dataclass(frozen=True)
class QuotaCounter:
    """Whose tokens: one tenant's keys of one tier, on one UTC day (``YYYYMMDD``)."""

    tenant_id: UUID
    tier: str
    day: str


@dataclass(frozen=True)
class TokenGrant:
    granted: int  # 0: refused (less than the minimum was left)
    left: int  # what is left of the quota after this grant (negative when a settlement went over)


class StoreUnavailableError(ProblemError):
    problem = problems.DEPENDENCY_UNAVAILABLE


@dataclass(frozen=True)
class Admission:
    revoked: bool | None  # None: the state is not cached (expired, evicted, lost): ask auth, never assume active
    tokens_used: int


def _state_of(raw: bytes | str | None) -> bool | None:
    if raw is None:
        return None
    return (raw.decode() if isinstance(raw, bytes) else raw) != KEY_STATE_ACTIVE


class GatewayStore(Protocol):
    async def cached_key(self, key_hash: str) -> VerifiedKey | None: ...
    async def cache_key(self, key_hash: str, key: VerifiedKey, ttl_seconds: int) -> None: ...
    async def admission(self, key_id: UUID, counter: QuotaCounter) -> Admission: ...
    async def cache_key_state(self, key_id: UUID, *, revoked: bool, ttl_seconds: int) -> None: ...
    async def reserve_tokens(self, counter: QuotaCounter, *, quota: int, want: int, minimum: int) -> TokenGrant: ...
    async def charge_tokens(self, counter: QuotaCounter, tokens: int) -> None: ...
    async def acquire_stream(self, key_id: UUID, lease: str, cap: int, ttl_seconds: int) -> bool: ...
    async def renew_stream(self, key_id: UUID, lease: str, ttl_seconds: int) -> None: ...
    async def release_stream(self, key_id: UUID, lease: str) -> None: ...
    async def forget(self, names: Collection[str]) -> int: ...
    async def ping(self) -> None: ...
    async def aclose(self) -> None: ...


@contextmanager
def _redis_errors_as_unavailable() -> Iterator[None]:
    try:
        yield
    except RedisError as exc:
        raise StoreUnavailableError("The gateway's store (Redis) cannot be reached.") from exc


def _key_parts(key: bytes | str) -> set[str]:
    text = key.decode() if isinstance(key, bytes) else key
    return set(re.split(r"[:/]", text))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class RedisStore:
    def __init__(self, redis: Redis, layout: KeyspaceLayout) -> None:
        self.redis = redis
        self.layout = layout
        self._acquire = redis.register_script(_ACQUIRE_LEASE)
        self._reserve = redis.register_script(_RESERVE_TOKENS)

    def _tokens_key(self, counter: QuotaCounter) -> str:
        return self.layout.tokens(counter.tenant_id, counter.tier, counter.day)

    async def cached_key(self, key_hash: str) -> VerifiedKey | None:
        with _redis_errors_as_unavailable():
            raw = await self.redis.get(self.layout.verified_key(key_hash))
        return VerifiedKey.model_validate_json(raw) if raw else None

    async def cache_key(self, key_hash: str, key: VerifiedKey, ttl_seconds: int) -> None:
        with _redis_errors_as_unavailable():
            await self.redis.set(self.layout.verified_key(key_hash), key.model_dump_json(), ex=ttl_seconds)

    async def admission(self, key_id: UUID, counter: QuotaCounter) -> Admission:
        with _redis_errors_as_unavailable():
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(self.layout.key_state(key_id))
                pipe.get(self._tokens_key(counter))
                state, tokens = await pipe.execute()
        return Admission(revoked=_state_of(state), tokens_used=int(tokens or 0))

    async def cache_key_state(self, key_id: UUID, *, revoked: bool, ttl_seconds: int) -> None:
        """Cache auth's answer. ``active`` only if absent (NX): a revocation written meanwhile is never undone."""
        with _redis_errors_as_unavailable():
            if revoked:
                await self.redis.set(self.layout.key_state(key_id), KEY_STATE_REVOKED, ex=ttl_seconds)
            else:
                await self.redis.set(self.layout.key_state(key_id), KEY_STATE_ACTIVE, ex=ttl_seconds, nx=True)

    async def reserve_tokens(self, counter: QuotaCounter, *, quota: int, want: int, minimum: int) -> TokenGrant:
        with _redis_errors_as_unavailable():
            granted, left = await self._reserve(
                keys=[self._tokens_key(counter)], args=[quota, want, minimum, TOKEN_COUNTER_TTL_SECONDS]
            )
        return TokenGrant(granted=int(granted), left=int(left))

    async def charge_tokens(self, counter: QuotaCounter, tokens: int) -> None:
        """Add ``tokens`` (negative: give back the unused part of a reservation)."""
        with _redis_errors_as_unavailable():
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incrby(self._tokens_key(counter), tokens)
                pipe.expire(self._tokens_key(counter), TOKEN_COUNTER_TTL_SECONDS)
                await pipe.execute()

    async def acquire_stream(self, key_id: UUID, lease: str, cap: int, ttl_seconds: int) -> bool:
        now = _now_ms()
        ttl_ms = ttl_seconds * 1000
        with _redis_errors_as_unavailable():
            granted = await self._acquire(
                keys=[self.layout.streams(key_id)], args=[now, now + ttl_ms, cap, lease, ttl_ms]
            )
        return bool(granted)

    async def renew_stream(self, key_id: UUID, lease: str, ttl_seconds: int) -> None:
        key = self.layout.streams(key_id)
        with _redis_errors_as_unavailable():
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zadd(key, {lease: _now_ms() + ttl_seconds * 1000}, xx=True)
                pipe.expire(key, ttl_seconds)
                await pipe.execute()

    async def release_stream(self, key_id: UUID, lease: str) -> None:
        with _redis_errors_as_unavailable():
            await self.redis.zrem(self.layout.streams(key_id), lease)

    async def forget(self, names: Collection[str]) -> int:
        """Delete the gateway's keys with any of ``names`` (an end user's ref, their conversation ids) as one of
        their ``:``-separated parts; returns how many. None are written per end user today (limits, quotas and
        leases are per API key), so this is the guarantee that a future cache cannot keep one after an erasure."""
        with _redis_errors_as_unavailable():
            doomed = [
                key
                async for key in self.redis.scan_iter(match=f"{self.layout.prefix}*", count=1000)
                if not _key_parts(key).isdisjoint(names)
            ]
            return int(await self.redis.delete(*doomed)) if doomed else 0

    async def ping(self) -> None:
        await self.redis.ping()

    async def aclose(self) -> None:
        await self.redis.aclose()


@dataclass
class MemoryStore:
    """Single-process stand-in for Redis (``make run`` without ``REDIS_URL``): quotas and leases work for one
    gateway process. Verified keys are not cached and key states live only as long as their TTL here (auth
    publishes revocations to Redis only), so a revoked key's widget tokens are refused within a minute."""

    tokens: dict[QuotaCounter, int] = field(default_factory=dict)
    leases: dict[UUID, dict[str, float]] = field(default_factory=dict)
    states: dict[UUID, tuple[bool, float]] = field(default_factory=dict)

    async def cached_key(self, key_hash: str) -> VerifiedKey | None:
        return None

    async def cache_key(self, key_hash: str, key: VerifiedKey, ttl_seconds: int) -> None:
        return None

    async def admission(self, key_id: UUID, counter: QuotaCounter) -> Admission:
        revoked, expiry = self.states.get(key_id, (None, 0.0))
        cached = revoked if expiry > time.monotonic() else None
        return Admission(revoked=cached, tokens_used=self.tokens.get(counter, 0))

    async def cache_key_state(self, key_id: UUID, *, revoked: bool, ttl_seconds: int) -> None:
        self.states[key_id] = (revoked, time.monotonic() + ttl_seconds)

    async def reserve_tokens(self, counter: QuotaCounter, *, quota: int, want: int, minimum: int) -> TokenGrant:
        left = quota - self.tokens.get(counter, 0)  # no await in between: atomic on the event loop
        if left < minimum:
            return TokenGrant(granted=0, left=left)
        granted = min(want, left)
        self.tokens[counter] = self.tokens.get(counter, 0) + granted
        return TokenGrant(granted=granted, left=left - granted)

    async def charge_tokens(self, counter: QuotaCounter, tokens: int) -> None:
        self.tokens[counter] = self.tokens.get(counter, 0) + tokens

    async def acquire_stream(self, key_id: UUID, lease: str, cap: int, ttl_seconds: int) -> bool:
        now = time.monotonic()
        active = {name: expiry for name, expiry in self.leases.get(key_id, {}).items() if expiry > now}
        if len(active) >= cap:
            self.leases[key_id] = active
            return False
        active[lease] = now + ttl_seconds
        self.leases[key_id] = active
        return True

    async def renew_stream(self, key_id: UUID, lease: str, ttl_seconds: int) -> None:
        active = self.leases.get(key_id, {})
        if lease in active:
            active[lease] = time.monotonic() + ttl_seconds

    async def release_stream(self, key_id: UUID, lease: str) -> None:
        self.leases.get(key_id, {}).pop(lease, None)

    async def forget(self, names: Collection[str]) -> int:
        return 0  # keyed by API key only (see ``RedisStore.forget``)

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None
