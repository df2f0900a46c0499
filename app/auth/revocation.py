"""Make a key revocation effective at the gateway at once, through the gateway's Redis.

The gateway caches verified keys for a minute and accepts widget tokens for up to an hour without asking
auth. A revocation therefore writes the key's state ``revoked`` (``hl:keystate:<key id>``), which the gateway
reads on every request, and drops the cached verification. It happens inside the revoking request's
transaction, before the commit: if Redis is unreachable the revocation fails (503) and is retried.

Redis is only the fast path. ``revoked_at`` in Postgres is the truth: when the state is missing from Redis
(restart without persistence, eviction, failover) the gateway asks auth (``key_state``) and caches the answer,
so a lost marker can no longer re-admit a revoked key's widget tokens.
"""

from __future__ import annotations

from uuid import UUID

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.contracts import problems
from app.core.api_keys import KEY_STATE_REVOKED, REVOKED_MARKER_TTL_SECONDS, KeyspaceLayout
from app.core.errors import ProblemError


class RevocationNotPublishedError(ProblemError):
    problem = problems.DEPENDENCY_UNAVAILABLE


class RevocationPublisher:
    def __init__(self, redis: Redis | None, layout: KeyspaceLayout) -> None:
        self.redis = redis
        self.layout = layout

    async def publish(self, key_id: UUID, key_hash: str) -> None:
        if self.redis is None:  # no shared cache (local run): the gateway asks auth on every request
            return
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(self.layout.key_state(key_id), KEY_STATE_REVOKED, ex=REVOKED_MARKER_TTL_SECONDS)
                pipe.delete(self.layout.verified_key(key_hash))
                await pipe.execute()
        except RedisError as exc:
            raise RevocationNotPublishedError(
                "The revocation could not reach the gateway's cache; the key is still active. Retry."
            ) from exc

    async def ping(self) -> None:
        if self.redis is not None:
            await self.redis.ping()

    async def aclose(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
