"""Who is calling: an API key (verified by auth, cached in Redis) or an access token (verified locally).

The result is the ``IdentityClaims`` every downstream service filters by. Credential failures are one 401
problem type with a precise ``detail`` (malformed, unknown, revoked, expired, forged).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from uuid import UUID

from app.contracts.api import Role, Scope
from app.contracts.internal import IdentityClaims, KeyState, VerifiedKey, VerifyKeyRequest
from app.core.access_tokens import AccessTokenError
from app.core.api_keys import hash_api_key, is_api_key, is_well_formed_api_key
from app.core.identity import TOKEN_TTL_SECONDS, InvalidIdentityError, mint_service_token
from app.core.internal_client import InternalClient
from app.gateway.jwks import JwksCache
from app.gateway.store import GatewayStore

VERIFY_PATH = "/internal/v1/api-keys:verify"
KEY_STATE_PATH = "/internal/v1/api-keys/{key_id}/state"


def role_of_key(scopes: list[Scope]) -> Role:
    """The role an API key acts with: the most privileged its scopes imply (keys are tenant-level)."""
    if Scope.ADMIN in scopes:
        return Role.ADMIN
    if Scope.AGENT in scopes:
        return Role.AGENT
    return Role.CUSTOMER


def key_identity(key: VerifiedKey) -> IdentityClaims:
    return IdentityClaims(
        tenant_id=key.tenant_id,
        principal="api_key",
        subject=str(key.key_id),
        role=role_of_key(key.scopes),
        scopes=key.scopes,
        key_id=key.key_id,
        tier=key.tier,
    )


class ServiceToken:
    """The gateway's own service token for auth, re-minted when half its lifetime has passed."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self._token = ""
        self._minted_at = 0.0

    def header(self) -> dict[str, str]:
        if time.monotonic() - self._minted_at > TOKEN_TTL_SECONDS / 2:
            self._token = mint_service_token(secret=self.secret, issuer="gateway")
            self._minted_at = time.monotonic()
        return {"Authorization": f"Bearer {self._token}"}


class AuthKeyStates:
    """Revocation's source of truth for the gateway: auth's database, asked when Redis has no state cached."""

    def __init__(self, auth: InternalClient, service_token: ServiceToken) -> None:
        self.auth = auth
        self.service_token = service_token

    async def revoked(self, key_id: UUID) -> bool:
        path = KEY_STATE_PATH.format(key_id=key_id)
        state = await self.auth.call("GET", path, KeyState, headers=self.service_token.header())
        return state.revoked


class LocalKeyCache:
    """A few seconds of verified keys in process memory, in front of the shared Redis cache.

    Saves a Redis round trip on every request of a busy key. Safe for revocation: the key's state is checked in
    Redis (or auth) on every request anyway (``Gatekeeper.admit``), whatever cache answered here.
    """

    def __init__(self, *, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[VerifiedKey, float]] = OrderedDict()

    def get(self, key_hash: str) -> VerifiedKey | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            del self._entries[key_hash]
            return None
        self._entries.move_to_end(key_hash)
        return entry[0]

    def put(self, key_hash: str, key: VerifiedKey) -> None:
        self._entries[key_hash] = (key, time.monotonic() + self.ttl_seconds)
        self._entries.move_to_end(key_hash)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class Authenticator:
    def __init__(
        self,
        *,
        store: GatewayStore,
        auth: InternalClient,
        jwks: JwksCache,
        service_token: ServiceToken,
        key_cache_seconds: int,
        local_cache: LocalKeyCache | None = None,
    ) -> None:
        self.store = store
        self.auth = auth
        self.jwks = jwks
        self.service_token = service_token
        self.key_cache_seconds = key_cache_seconds
        self.local_cache = local_cache

    async def identify(self, credential: str) -> IdentityClaims:
        if is_api_key(credential):
            return key_identity(await self._verify_key(credential))
        try:
            claims = await self.jwks.verify(credential)
        except AccessTokenError as exc:
            raise InvalidIdentityError(str(exc)) from exc
        return claims.identity()

    async def _verify_key(self, key: str) -> VerifiedKey:
        if not is_well_formed_api_key(key):
            raise InvalidIdentityError("The API key is malformed.")
        key_hash = hash_api_key(key)
        if self.local_cache is not None and (local := self.local_cache.get(key_hash)) is not None:
            return local
        cached = await self.store.cached_key(key_hash)
        if cached is not None:
            if self.local_cache is not None:
                self.local_cache.put(key_hash, cached)
            return cached
        verified = await self.auth.call(
            "POST",
            VERIFY_PATH,
            VerifiedKey,
            json=VerifyKeyRequest(key=key),
            headers=self.service_token.header(),
        )
        await self.store.cache_key(key_hash, verified, self.key_cache_seconds)
        if self.local_cache is not None:
            self.local_cache.put(key_hash, verified)
        return verified
