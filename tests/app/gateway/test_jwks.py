"""The gateway's copy of auth's public keys: rotation picked up, forged key ids cannot flood auth, outages survived."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from app.contracts.api import Role, Scope
from app.core.access_tokens import AccessTokenClaims, AccessTokenError, Signer
from app.core.errors import ProblemError
from app.core.internal_client import InternalClient
from app.gateway.jwks import JwksCache
from tests.app.harness import serve_app

CLAIMS = AccessTokenClaims(sub="u", tenant_id=uuid4(), principal="user", role=Role.AGENT, scopes=[Scope.AGENT])


@dataclass
class FakeAuthKeys:
    """A JWKS endpoint whose keys the test rotates, counting how often it is asked."""

    document: dict[str, Any]
    fetches: int = 0
    up: bool = True
    app: FastAPI = field(default_factory=FastAPI)

    def __post_init__(self) -> None:
        @self.app.get("/.well-known/jwks.json")
        async def jwks() -> dict[str, Any]:
            self.fetches += 1
            if not self.up:
                raise RuntimeError("auth is down")
            return self.document


@pytest.fixture
async def keys_server() -> AsyncIterator[tuple[FakeAuthKeys, JwksCache, InternalClient]]:
    signer = Signer(Ed25519PrivateKey.generate())
    server = FakeAuthKeys(document=signer.jwks())
    async with serve_app(server.app) as running:
        client = InternalClient(running.base_url, service="auth")
        yield server, JwksCache(client, refresh_seconds=300), client
        await client.aclose()


async def test_keys_are_fetched_once_and_reused(keys_server: tuple[FakeAuthKeys, JwksCache, InternalClient]) -> None:
    server, cache, _ = keys_server
    signer_key = Ed25519PrivateKey.generate()
    server.document = Signer(signer_key).jwks()
    token = Signer(signer_key).sign(CLAIMS, ttl_seconds=60)

    for _ in range(5):
        assert await cache.verify(token) == CLAIMS

    assert server.fetches == 1


async def test_a_rotated_key_is_picked_up_and_unknown_key_ids_refresh_at_most_every_ten_seconds(
    keys_server: tuple[FakeAuthKeys, JwksCache, InternalClient],
) -> None:
    server, cache, _ = keys_server
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    server.document = Signer(old).jwks()
    await cache.verify(Signer(old).sign(CLAIMS, ttl_seconds=60))
    cache._fetched_at -= 11  # the last fetch was 11 s ago

    server.document = Signer(new, retired_public_keys=(old.public_key(),)).jwks()
    assert await cache.verify(Signer(new).sign(CLAIMS, ttl_seconds=60)) == CLAIMS
    assert server.fetches == 2

    forged = Signer(Ed25519PrivateKey.generate()).sign(CLAIMS, ttl_seconds=60)
    for _ in range(3):
        with pytest.raises(AccessTokenError, match="unknown key"):
            await cache.verify(forged)
    assert server.fetches == 2  # the refresh a moment ago is recent enough: no flood of calls to auth


async def test_an_auth_outage_keeps_the_last_keys_and_only_a_cold_gateway_fails(
    keys_server: tuple[FakeAuthKeys, JwksCache, InternalClient],
) -> None:
    server, cache, client = keys_server
    key = Ed25519PrivateKey.generate()
    server.document = Signer(key).jwks()
    token = Signer(key).sign(CLAIMS, ttl_seconds=60)
    await cache.verify(token)
    server.up = False
    cache._fetched_at -= 301  # stale: a refresh is due

    assert await cache.verify(token) == CLAIMS

    cold = JwksCache(client, refresh_seconds=300)
    with pytest.raises(ProblemError) as caught:
        await cold.verify(token)
    assert caught.value.status == 502
