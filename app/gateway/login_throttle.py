"""Password-guessing throttle with lockouts an attacker cannot aim at a victim.

Failures are counted per (account, client) and per client, never per account alone: a per-account lockout lets
anyone lock a real user out by typing wrong passwords for them (ten tries did it before). Here the guesser's own
client is locked (429, even with the right password, for the rest of the window) while the real user on
another client logs in normally. A guesser spreading over many addresses gets ``per_account_client`` tries per
address per window on each account, each paying Argon2id's cost, and ``per_client`` across accounts (credential
stuffing). Success clears the (account, client) count. Accounts are hashed before they become store keys, so
no email is written to Redis.

The client is the connection's address as uvicorn resolved it: ``X-Forwarded-For`` counts only from proxies in
``HELPLINE_FORWARDED_ALLOW_IPS`` (the ingress), so a client cannot pick its own address.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from app.core.metrics import METRICS
from app.gateway.admission import RateLimitedError, rate_limit_headers
from app.gateway.store import StoreUnavailableError


def account_id(tenant: str, email: str) -> str:
    """A stable, non-reversible name for the account (store keys must not hold emails)."""
    return hashlib.sha256(f"{tenant}\x00{email.strip().lower()}".encode()).hexdigest()[:32]


class LoginThrottle:
    def __init__(self, storage: Storage, *, per_account_client: int, per_client: int, window_minutes: int) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._pair = RateLimitItemPerMinute(per_account_client, window_minutes)
        self._client = RateLimitItemPerMinute(per_client, window_minutes)
        self.window_seconds = window_minutes * 60

    def _keys(self, tenant: str, email: str, client: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return ("login-pair", account_id(tenant, email), client), ("login-client", client)

    async def check(self, tenant: str, email: str, client: str) -> None:
        """429 if this client has used its failures on this account, or across accounts, in the window."""
        pair, by_client = self._keys(tenant, email, client)
        try:
            for item, identifiers in ((self._pair, pair), (self._client, by_client)):
                if not await self._limiter.test(item, *identifiers):
                    stats = await self._limiter.get_window_stats(item, *identifiers)
                    self._refuse(item.amount, max(1, math.ceil(stats.reset_time - time.time())))
        except StorageError as exc:
            raise StoreUnavailableError("The login throttle's store (Redis) cannot be reached.") from exc

    async def failed(self, tenant: str, email: str, client: str) -> None:
        pair, by_client = self._keys(tenant, email, client)
        try:
            await self._limiter.hit(self._pair, *pair)
            await self._limiter.hit(self._client, *by_client)
        except StorageError as exc:
            raise StoreUnavailableError("The login throttle's store (Redis) cannot be reached.") from exc

    async def succeeded(self, tenant: str, email: str, client: str) -> None:
        pair, _ = self._keys(tenant, email, client)
        try:
            await self._limiter.clear(self._pair, *pair)
        except StorageError as exc:
            raise StoreUnavailableError("The login throttle's store (Redis) cannot be reached.") from exc

    def _refuse(self, limit: int, reset_seconds: int) -> None:
        METRICS.rate_limit_rejections_total.labels(tier="login", limit="requests").inc()
        raise RateLimitedError(
            f"Too many failed logins from this client; try again in {reset_seconds} s.",
            headers=rate_limit_headers(
                limit=limit, remaining=0, reset_seconds=reset_seconds, policy=f"{limit};w={self.window_seconds}"
            ),
        )
