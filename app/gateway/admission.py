"""Admission control per API key: revocation, daily token quota, requests per minute, concurrent streams.

Revocation is read from the key's cached state in the store; when it is missing (expired, evicted, or Redis came
back empty) the gateway asks auth, whose Postgres row is the truth, and caches the answer: a lost cache fails
safe instead of re-admitting a revoked key's widget tokens.

Refusals are 429 problems with ``Retry-After`` and the IETF draft ``RateLimit-*`` headers, counted in
``helpline_rate_limit_rejections_total{tier, limit}``.

Token quotas belong to the tenant (all its keys of one tier share one daily counter) and hold under concurrency:
a request that will reach the engine first *reserves* its tier's per-request budget, or what is left of the
quota if less (``reserve``, one atomic Redis script), and chat fits the prompt and ``max_tokens`` into the grant;
when the request ends it is *settled* to the engine's reported usage (``settle``). Concurrent requests therefore
never spend more than the quota (plus, at worst, what chat's pessimistic prompt estimate missed). A stream whose
usage never arrives (the client left: the engine reports no usage for an aborted request) is settled to an
estimate of the answer text it relayed.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID

from app.contracts import problems
from app.contracts.api import Tier
from app.contracts.internal import IdentityClaims
from app.core.api_keys import ACTIVE_STATE_TTL_SECONDS, REVOKED_MARKER_TTL_SECONDS
from app.core.errors import ProblemError
from app.core.identity import InvalidIdentityError
from app.core.ids import uuid7
from app.core.logging import get_logger
from app.core.metrics import METRICS
from app.gateway.policy import MIN_TOKEN_GRANT, TIER_POLICIES, TierPolicy
from app.gateway.ratelimit import LimitDecision, RequestLimiter
from app.gateway.store import Admission, GatewayStore, QuotaCounter

#: A client refused for concurrency is told to come back after this many seconds (streams last ~seconds).
STREAM_RETRY_AFTER_SECONDS = 5

log = get_logger(__name__)


class RateLimitedError(ProblemError):
    problem = problems.RATE_LIMITED


class QuotaExceededError(ProblemError):
    problem = problems.QUOTA_EXCEEDED


class TooManyStreamsError(ProblemError):
    problem = problems.TOO_MANY_STREAMS


def utc_day(now: datetime) -> str:
    return now.strftime("%Y%m%d")


def seconds_until_utc_midnight(now: datetime) -> int:
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - now).total_seconds()))


def rate_limit_headers(*, limit: int, remaining: int, reset_seconds: int, policy: str) -> dict[str, str]:
    return {
        "Retry-After": str(reset_seconds),
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(max(0, remaining)),
        "RateLimit-Reset": str(reset_seconds),
        "RateLimit-Policy": policy,
    }


@dataclass(frozen=True)
class TokenReservation:
    """Tokens taken from a tenant's quota for one request, to be settled to its real usage."""

    counter: QuotaCounter
    granted: int


class KeyStates(Protocol):
    """The source of truth for revocation (auth's database), asked when the store has no cached state."""

    async def revoked(self, key_id: UUID) -> bool: ...


@dataclass
class StreamLease:
    """A slot in a key's concurrent-stream cap, renewed in the background until released."""

    store: GatewayStore
    key_id: UUID
    lease: str
    ttl_seconds: int
    _renewal: asyncio.Task[None] | None = None

    def start_renewing(self) -> None:
        self._renewal = asyncio.create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.ttl_seconds / 3)
            try:
                await self.store.renew_stream(self.key_id, self.lease, self.ttl_seconds)
            except ProblemError:
                log.warning("stream_lease_renewal_failed", key_id=str(self.key_id))

    async def release(self) -> None:
        if self._renewal is not None:
            self._renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewal
            self._renewal = None
        try:
            await self.store.release_stream(self.key_id, self.lease)
        except ProblemError:  # the lease expires by itself: a crashed or partitioned gateway cannot leak slots
            log.warning("stream_lease_release_failed", key_id=str(self.key_id))


class Gatekeeper:
    def __init__(
        self,
        store: GatewayStore,
        limiter: RequestLimiter,
        key_states: KeyStates,
        *,
        user_requests_per_minute: int,
        lease_seconds: int,
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.key_states = key_states
        self.user_requests_per_minute = user_requests_per_minute
        self.lease_seconds = lease_seconds
        self._charges: set[asyncio.Task[None]] = set()

    @staticmethod
    def policy_of(identity: IdentityClaims) -> TierPolicy:
        return TIER_POLICIES[identity.tier or Tier.FREE]

    async def admit(
        self, identity: IdentityClaims, now: datetime | None = None, *, stream: bool = False
    ) -> StreamLease | None:
        """Raise the matching 401/429 unless ``identity`` may make one more request now.

        With ``stream=True`` the concurrent-stream lease is taken in the same round trip and returned (the caller
        releases it); it is given back at once if the request is refused for another reason.
        """
        if identity.key_id is None:  # agents and admins with user tokens: a per-user request rate only
            decision = await self.limiter.hit(
                self.user_requests_per_minute, "user", str(identity.tenant_id), identity.subject
            )
            if not decision.allowed:
                self._refuse_rate("user", decision.limit, decision.remaining, decision.reset_seconds)
            return None
        now = now or datetime.now(UTC)
        policy = self.policy_of(identity)
        lease = StreamLease(self.store, identity.key_id, uuid7().hex, self.lease_seconds) if stream else None
        admission, decision, granted = await asyncio.gather(
            self.store.admission(identity.key_id, self._counter(identity, now)),
            self.limiter.hit(policy.requests_per_minute, "key", str(identity.key_id)),
            self._acquire(lease, policy),
        )
        try:
            revoked = admission.revoked
            if revoked is None:
                revoked = await self._key_state_from_auth(identity.key_id)
            if revoked:
                raise InvalidIdentityError("The API key has been revoked.")
            self._check(identity, policy, admission, decision, now)
            if lease is not None and not granted:
                self._refuse_streams(identity, policy)
        except ProblemError:
            if lease is not None and granted:
                await lease.release()
            raise
        if lease is not None:
            lease.start_renewing()
        return lease

    async def _acquire(self, lease: StreamLease | None, policy: TierPolicy) -> bool:
        if lease is None:
            return False
        return await self.store.acquire_stream(lease.key_id, lease.lease, policy.concurrent_streams, self.lease_seconds)

    async def _key_state_from_auth(self, key_id: UUID) -> bool:
        """Ask the truth (auth) and cache it; an unreachable auth is a 503, never an admission."""
        revoked = await self.key_states.revoked(key_id)
        ttl = REVOKED_MARKER_TTL_SECONDS if revoked else ACTIVE_STATE_TTL_SECONDS
        await self.store.cache_key_state(key_id, revoked=revoked, ttl_seconds=ttl)
        return revoked

    def _check(
        self, identity: IdentityClaims, policy: TierPolicy, admission: Admission, decision: LimitDecision, now: datetime
    ) -> None:
        if policy.tokens_per_day is not None and admission.tokens_used >= policy.tokens_per_day:
            reset = seconds_until_utc_midnight(now)
            METRICS.rate_limit_rejections_total.labels(tier=self._tier(identity), limit="tokens").inc()
            raise QuotaExceededError(
                f"The tenant has used its {policy.tokens_per_day} tokens for today (UTC) on this key tier.",
                headers=rate_limit_headers(
                    limit=policy.tokens_per_day,
                    remaining=0,
                    reset_seconds=reset,
                    policy=f"{policy.tokens_per_day};w=86400",
                ),
            )
        if not decision.allowed:
            self._refuse_rate(self._tier(identity), decision.limit, decision.remaining, decision.reset_seconds)

    def _counter(self, identity: IdentityClaims, now: datetime) -> QuotaCounter:
        return QuotaCounter(tenant_id=identity.tenant_id, tier=self._tier(identity), day=utc_day(now))

    async def reserve(self, identity: IdentityClaims, now: datetime | None = None) -> TokenReservation | None:
        """Reserve the request's budget (the tier's, or what is left if less) before the engine is called; 429
        when less than ``MIN_TOKEN_GRANT`` is left. None when nothing is metered (no key, or no quota)."""
        policy = self.policy_of(identity)
        if identity.key_id is None or policy.tokens_per_day is None or policy.request_token_budget is None:
            return None
        now = now or datetime.now(UTC)
        counter = self._counter(identity, now)
        grant = await self.store.reserve_tokens(
            counter, quota=policy.tokens_per_day, want=policy.request_token_budget, minimum=MIN_TOKEN_GRANT
        )
        if grant.granted == 0:
            METRICS.rate_limit_rejections_total.labels(tier=self._tier(identity), limit="tokens").inc()
            raise QuotaExceededError(
                f"The tenant has {max(0, grant.left)} of its {policy.tokens_per_day} tokens left today (UTC) on this "
                f"key tier, fewer than one request needs ({MIN_TOKEN_GRANT}).",
                headers=rate_limit_headers(
                    limit=policy.tokens_per_day,
                    remaining=grant.left,
                    reset_seconds=seconds_until_utc_midnight(now),
                    policy=f"{policy.tokens_per_day};w=86400",
                ),
            )
        return TokenReservation(counter=counter, granted=grant.granted)

    def settle(self, identity: IdentityClaims, reservation: TokenReservation | None, used: int | None) -> None:
        """Settle a request to its real usage in the background (survives the client going away). ``used`` None
        (unknown) keeps the reservation as the charge."""
        if reservation is None:
            if used:
                self.charge(identity, used)
            return
        if used is not None and used != reservation.granted:
            self._spawn(reservation.counter, used - reservation.granted)

    def _refuse_rate(self, tier: str, limit: int, remaining: int, reset_seconds: int) -> None:
        METRICS.rate_limit_rejections_total.labels(tier=tier, limit="requests").inc()
        raise RateLimitedError(
            f"More than {limit} requests per minute.",
            headers=rate_limit_headers(
                limit=limit, remaining=remaining, reset_seconds=reset_seconds, policy=f"{limit};w=60"
            ),
        )

    async def open_stream(self, identity: IdentityClaims) -> StreamLease | None:
        """A lease on one of the key's concurrent streams (None for user tokens, which have no key cap)."""
        if identity.key_id is None:
            return None
        policy = self.policy_of(identity)
        lease = StreamLease(self.store, identity.key_id, uuid7().hex, self.lease_seconds)
        if not await self._acquire(lease, policy):
            self._refuse_streams(identity, policy)
        lease.start_renewing()
        return lease

    def _refuse_streams(self, identity: IdentityClaims, policy: TierPolicy) -> None:
        METRICS.rate_limit_rejections_total.labels(tier=self._tier(identity), limit="streams").inc()
        raise TooManyStreamsError(
            f"The key already has {policy.concurrent_streams} streams open.",
            headers=rate_limit_headers(
                limit=policy.concurrent_streams,
                remaining=0,
                reset_seconds=STREAM_RETRY_AFTER_SECONDS,
                policy=f"{policy.concurrent_streams};w={self.lease_seconds}",
            ),
        )

    def charge(self, identity: IdentityClaims, tokens: int, now: datetime | None = None) -> None:
        """Charge ``tokens`` without a reservation (tiers without a quota are still counted), in the background."""
        if identity.key_id is None or tokens <= 0:
            return
        self._spawn(self._counter(identity, now or datetime.now(UTC)), tokens)

    def _spawn(self, counter: QuotaCounter, tokens: int) -> None:
        task = asyncio.create_task(self._charge(counter, tokens))
        self._charges.add(task)
        task.add_done_callback(self._charges.discard)

    async def _charge(self, counter: QuotaCounter, tokens: int) -> None:
        try:
            await self.store.charge_tokens(counter, tokens)
        except ProblemError:
            log.error("token_charge_failed", tenant_id=str(counter.tenant_id), tokens=tokens)

    async def drain(self) -> None:
        """Wait for pending charges (shutdown: nothing charged is lost)."""
        if self._charges:
            await asyncio.gather(*self._charges, return_exceptions=True)

    @staticmethod
    def _tier(identity: IdentityClaims) -> str:
        return (identity.tier or Tier.FREE).value
