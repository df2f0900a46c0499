"""Tenant API keys: the format, the hash they are stored and cached under, and the Redis keys around them.

Shared by auth (which creates, verifies and revokes keys) and the gateway (which caches verifications and
honours revocations), so both agree on every byte. A key is ``hl_live_<prefix>_<secret>``: the prefix
(8 base32 characters) is shown in listings to recognise a key; the secret is 256 random bits. Only
SHA-256(key) is stored: for a high-entropy random secret a fast hash is as safe as a slow password hash
(there is nothing to brute-force) and keeps per-request verification cheap.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from uuid import UUID

KEY_SCHEME = "hl_live_"
_PREFIX_CHARS = 8
_SECRET_BYTES = 32
_KEY_PATTERN = re.compile(r"^hl_live_([a-z2-7]{8})_([a-z2-7]{52})$")

#: How long a verification stays cached at the gateway; revocation does not wait for it (see below).
KEY_CACHE_TTL_SECONDS = 60
#: How long a revocation marker lives: longer than any credential derived from the key (widget tokens live at
#: most an hour) and than a cached verification, so nothing issued before the revocation outlives it.
REVOKED_MARKER_TTL_SECONDS = 3600 + 300
#: How long the gateway trusts a cached "active" key state before asking auth (Postgres) again. A missing state
#: (expired, evicted, Redis restarted empty) is never read as active: the gateway asks auth, so revocation holds.
ACTIVE_STATE_TTL_SECONDS = 60
KEY_STATE_ACTIVE = "active"
KEY_STATE_REVOKED = "revoked"


def _base32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


@dataclass(frozen=True)
class GeneratedKey:
    key: str  # shown once to the creator
    prefix: str  # hl_live_<8 chars>: stored, listed, searchable
    key_hash: str  # stored; the only way to find the key again


def generate_api_key() -> GeneratedKey:
    prefix = KEY_SCHEME + _base32(secrets.token_bytes(5))[:_PREFIX_CHARS]
    key = f"{prefix}_{_base32(secrets.token_bytes(_SECRET_BYTES))}"
    return GeneratedKey(key=key, prefix=prefix, key_hash=hash_api_key(key))


def is_api_key(token: str) -> bool:
    """True when ``token`` has the API key format (anything else presented as a bearer is a JWT)."""
    return token.startswith(KEY_SCHEME)


def is_well_formed_api_key(key: str) -> bool:
    return _KEY_PATTERN.match(key) is not None


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyspaceLayout:
    """Names of the gateway's Redis keys (``hl:*``); auth touches the first two on revocation."""

    prefix: str = "hl:"

    def verified_key(self, key_hash: str) -> str:
        return f"{self.prefix}key:{key_hash}"

    def key_state(self, key_id: UUID) -> str:
        """The key's cached state (``active``/``revoked``); Postgres in auth is the truth behind it."""
        return f"{self.prefix}keystate:{key_id}"

    def tokens(self, tenant_id: UUID, tier: str, day: str) -> str:
        """Tokens charged (and reserved) on one UTC day (``YYYYMMDD``) to a tenant's keys of one tier: the quota
        is the tenant's, so minting more keys does not multiply it."""
        return f"{self.prefix}tokens:{tenant_id}:{tier}:{day}"

    def streams(self, key_id: UUID) -> str:
        """The key's open stream leases (a sorted set scored by lease expiry)."""
        return f"{self.prefix}streams:{key_id}"

    @property
    def rate_limits(self) -> str:
        """Prefix of the ``limits`` library's counters."""
        return f"{self.prefix}rl"
