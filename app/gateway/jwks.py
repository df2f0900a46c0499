"""Auth's public keys, cached: access tokens are verified locally, without a call to auth per request.

Refreshed every ``refresh_seconds`` and when a token names an unknown key id (a rotation), at most once per
``MIN_FORCED_REFRESH_SECONDS`` so forged key ids cannot turn into a flood of calls to auth. When auth cannot be
reached the last keys stay in use; only a gateway that never fetched them answers 503.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from app.core.access_tokens import AccessTokenClaims, KeySet, unverified_kid
from app.core.errors import ProblemError
from app.core.internal_client import InternalClient
from app.core.logging import get_logger

JWKS_PATH = "/.well-known/jwks.json"
MIN_FORCED_REFRESH_SECONDS = 10.0

log = get_logger(__name__)


class JwksCache:
    def __init__(self, auth: InternalClient, *, refresh_seconds: float) -> None:
        self.auth = auth
        self.refresh_seconds = refresh_seconds
        self.document: dict[str, Any] | None = None
        self._keyset: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> AccessTokenClaims:
        """The claims of a valid access token; ``AccessTokenError`` otherwise."""
        kid = unverified_kid(token)
        keyset = await self._keys_for(kid)
        return keyset.verify(token)

    async def jwks(self) -> dict[str, Any]:
        await self._keys_for(None)
        assert self.document is not None
        return self.document

    async def _keys_for(self, kid: str | None) -> KeySet:
        keyset = self._keyset
        if keyset is not None and not self._stale() and (kid is None or kid in keyset):
            return keyset
        async with self._lock:
            keyset = self._keyset
            needs_refresh = keyset is None or self._stale()
            unknown_kid = keyset is not None and kid is not None and kid not in keyset
            if unknown_kid and time.monotonic() - self._fetched_at >= MIN_FORCED_REFRESH_SECONDS:
                needs_refresh = True
            if needs_refresh:
                keyset = await self._refresh(keyset)
        assert keyset is not None
        return keyset

    def _stale(self) -> bool:
        return time.monotonic() - self._fetched_at >= self.refresh_seconds

    async def _refresh(self, current: KeySet | None) -> KeySet:
        try:
            document = (await self.auth.request("GET", JWKS_PATH)).json()
        except ProblemError:
            if current is None:
                raise
            log.warning("jwks_refresh_failed_keeping_cached_keys")
            self._fetched_at = time.monotonic()  # retry after another interval, not on every request
            return current
        self.document = document
        self._keyset = KeySet(document)
        self._fetched_at = time.monotonic()
        return self._keyset
