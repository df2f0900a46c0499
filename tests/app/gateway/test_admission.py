"""Rate limits, daily token quotas and concurrent-stream caps per tier, against real Redis.

The limits table is exercised tier by tier on the gatekeeper itself (1000 requests per minute are quick there);
the HTTP tests below check what a client sees when refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from redis.asyncio import Redis

from app.contracts.api import Role, Scope, Tier
from app.contracts.internal import IdentityClaims
from app.core.api_keys import KeyspaceLayout
from app.core.errors import ProblemError
from app.core.identity import InvalidIdentityError
from app.core.redis import redis_client
from app.gateway.admission import (
    Gatekeeper,
    QuotaExceededError,
    RateLimitedError,
    TooManyStreamsError,
    rate_limit_headers,
    seconds_until_utc_midnight,
    utc_day,
)
from app.gateway.policy import TIER_POLICIES
from app.gateway.ratelimit import RequestLimiter, redis_storage
from app.gateway.store import GatewayStore, MemoryStore, RedisStore

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class KnownKeys:
    """Auth's answer for the unit tests: the ids in ``revoked`` are revoked, every other key is active."""

    def __init__(self) -> None:
        self.revoked_ids: set[UUID] = set()
        self.asked: list[UUID] = []

    async def revoked(self, key_id: UUID) -> bool:
        self.asked.append(key_id)
        return key_id in self.revoked_ids


@pytest.fixture
def known_keys() -> KnownKeys:
    return KnownKeys()


@pytest.fixture(params=["redis", "memory"])
async def gatekeeper(
    request: pytest.FixtureRequest, redis_url: str, redis_prefix: str, known_keys: KnownKeys
) -> AsyncIterator[Gatekeeper]:
    """The same behaviour is required from the Redis store (deployments) and the in-process one (make run)."""
    store: GatewayStore
    if request.param == "redis":
        redis = redis_client(redis_url, max_connections=20)
        layout = KeyspaceLayout(redis_prefix)
        store, limiter = RedisStore(redis, layout), RequestLimiter(redis_storage(redis_url, redis, layout.rate_limits))
    else:
        store, limiter = MemoryStore(), RequestLimiter()
    keeper = Gatekeeper(store, limiter, known_keys, user_requests_per_minute=5, lease_seconds=10)
    yield keeper
    await keeper.drain()
    await store.aclose()


def key_identity(tier: Tier) -> IdentityClaims:
    key_id = uuid4()
    return IdentityClaims(
        tenant_id=uuid4(),
        principal="api_key",
        subject=str(key_id),
        role=Role.CUSTOMER,
        scopes=list(Scope),
        key_id=key_id,
        tier=tier,
    )


@pytest.mark.parametrize("tier", list(Tier))
async def test_each_tier_gets_its_requests_per_minute_then_a_429(gatekeeper: Gatekeeper, tier: Tier) -> None:
    identity = key_identity(tier)
    limit = TIER_POLICIES[tier].requests_per_minute

    for start in range(0, limit, 50):  # bursts of 50, as many clients at once
        await asyncio.gather(*(gatekeeper.admit(identity, now=NOON) for _ in range(min(50, limit - start))))
    with pytest.raises(RateLimitedError) as caught:
        await gatekeeper.admit(identity, now=NOON)

    headers = caught.value.headers
    assert caught.value.status == 429
    assert headers["RateLimit-Limit"] == str(limit)
    assert headers["RateLimit-Remaining"] == "0"
    assert headers["RateLimit-Policy"] == f"{limit};w=60"
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert headers["Retry-After"] == headers["RateLimit-Reset"]
    await gatekeeper.admit(key_identity(tier), now=NOON)  # another key of the same tier is not affected


@pytest.mark.parametrize("tier", [Tier.FREE, Tier.STANDARD])
async def test_the_daily_token_quota_refuses_the_next_request_once_used_up(gatekeeper: Gatekeeper, tier: Tier) -> None:
    identity = key_identity(tier)
    quota = TIER_POLICIES[tier].tokens_per_day
    assert quota is not None

    gatekeeper.charge(identity, quota - 1, now=NOON)
    await gatekeeper.drain()
    await gatekeeper.admit(identity, now=NOON)  # one token left: the request runs (and may go over)
    gatekeeper.charge(identity, 500, now=NOON)
    await gatekeeper.drain()

    with pytest.raises(QuotaExceededError) as caught:
        await gatekeeper.admit(identity, now=NOON)
    assert caught.value.headers["Retry-After"] == str(12 * 3600)  # until 00:00 UTC
    assert caught.value.headers["RateLimit-Limit"] == str(quota)
    assert caught.value.headers["RateLimit-Policy"] == f"{quota};w=86400"
    await gatekeeper.admit(identity, now=datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC))  # a new UTC day


async def test_enterprise_tokens_are_unlimited(gatekeeper: Gatekeeper) -> None:
    identity = key_identity(Tier.ENTERPRISE)

    gatekeeper.charge(identity, 50_000_000, now=NOON)
    await gatekeeper.drain()

    await gatekeeper.admit(identity, now=NOON)


@pytest.mark.parametrize("tier", list(Tier))
async def test_each_tier_has_its_cap_on_concurrent_streams(gatekeeper: Gatekeeper, tier: Tier) -> None:
    identity = key_identity(tier)
    cap = TIER_POLICIES[tier].concurrent_streams

    leases = [await gatekeeper.open_stream(identity) for _ in range(cap)]
    with pytest.raises(TooManyStreamsError) as caught:
        await gatekeeper.open_stream(identity)
    assert caught.value.headers["RateLimit-Limit"] == str(cap)
    assert caught.value.headers["Retry-After"] == "5"

    first = leases[0]
    assert first is not None
    await first.release()
    again = await gatekeeper.open_stream(identity)
    assert again is not None
    for lease in [*leases[1:], again]:
        assert lease is not None
        await lease.release()


async def test_a_lease_left_by_a_crashed_gateway_expires(redis_url: str, redis_prefix: str) -> None:
    redis = Redis.from_url(redis_url)
    store = RedisStore(redis, KeyspaceLayout(redis_prefix))
    key_id = uuid4()
    try:
        assert await store.acquire_stream(key_id, "crashed", cap=1, ttl_seconds=1)
        assert not await store.acquire_stream(key_id, "next", cap=1, ttl_seconds=1)
        await asyncio.sleep(1.1)  # the crashed holder never renews
        assert await store.acquire_stream(key_id, "next", cap=1, ttl_seconds=1)
    finally:
        await store.aclose()


@pytest.mark.parametrize("gatekeeper", ["redis"], indirect=True)  # auth publishes revocations to Redis only
async def test_a_revoked_state_refuses_the_key(redis_url: str, redis_prefix: str, gatekeeper: Gatekeeper) -> None:
    identity = key_identity(Tier.STANDARD)
    assert identity.key_id is not None
    redis = Redis.from_url(redis_url)
    await redis.set(KeyspaceLayout(redis_prefix).key_state(identity.key_id), "revoked")
    await redis.aclose()

    with pytest.raises(InvalidIdentityError, match="revoked"):
        await gatekeeper.admit(identity, now=NOON)


async def test_a_missing_state_asks_the_source_of_truth_once_and_caches_its_answer(
    gatekeeper: Gatekeeper, known_keys: KnownKeys
) -> None:
    active, revoked = key_identity(Tier.STANDARD), key_identity(Tier.STANDARD)
    assert active.key_id is not None
    assert revoked.key_id is not None
    known_keys.revoked_ids.add(revoked.key_id)

    for _ in range(3):
        await gatekeeper.admit(active, now=NOON)
        with pytest.raises(InvalidIdentityError, match="revoked"):
            await gatekeeper.admit(revoked, now=NOON)
    assert known_keys.asked == [active.key_id, revoked.key_id]  # then served from the store


async def test_users_have_their_own_limit(gatekeeper: Gatekeeper) -> None:
    user = IdentityClaims(tenant_id=uuid4(), principal="user", subject="u1", role=Role.AGENT, scopes=[Scope.AGENT])
    for _ in range(5):
        await gatekeeper.admit(user)
    with pytest.raises(RateLimitedError):
        await gatekeeper.admit(user)


async def test_an_unreachable_store_fails_closed(redis_prefix: str, known_keys: KnownKeys) -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0")
    layout = KeyspaceLayout(redis_prefix)
    keeper = Gatekeeper(
        RedisStore(redis, layout),
        RequestLimiter(redis_storage("redis://127.0.0.1:1/0", redis, layout.rate_limits)),
        known_keys,
        user_requests_per_minute=5,
        lease_seconds=10,
    )
    with pytest.raises(ProblemError) as caught:
        await keeper.admit(key_identity(Tier.FREE))
    await redis.aclose()

    assert caught.value.status == 503


def test_time_helpers() -> None:
    assert utc_day(NOON) == "20260301"
    assert seconds_until_utc_midnight(datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)) == 1
    assert rate_limit_headers(limit=10, remaining=-3, reset_seconds=7, policy="10;w=60") == {
        "Retry-After": "7",
        "RateLimit-Limit": "10",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "7",
        "RateLimit-Policy": "10;w=60",
    }


async def test_a_streamed_request_takes_its_lease_with_the_other_checks_and_gives_it_back_if_refused(
    gatekeeper: Gatekeeper,
) -> None:
    identity = key_identity(Tier.FREE)
    lease = await gatekeeper.admit(identity, now=NOON, stream=True)
    assert lease is not None
    for _ in range(TIER_POLICIES[Tier.FREE].requests_per_minute - 1):
        await gatekeeper.admit(identity, now=NOON)

    with pytest.raises(RateLimitedError):
        await gatekeeper.admit(identity, now=NOON, stream=True)  # refused for its rate: the slot it took is freed

    second = await gatekeeper.open_stream(identity)  # one slot used by `lease`, the other free again
    assert second is not None
    with pytest.raises(TooManyStreamsError):
        await gatekeeper.open_stream(identity)
    await lease.release()
    await second.release()
