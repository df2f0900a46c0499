"""API keys: created per tenant (shown once, stored hashed), listed by prefix, revoked at once, tier-bounded."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import select

from app.auth.models import ApiKey
from app.auth.service import MAX_ACTIVE_KEYS
from app.contracts.api import ApiKeyCreated, Role, Scope, Tier
from app.core.api_keys import KeyspaceLayout, hash_api_key, is_well_formed_api_key
from app.core.db import Database
from tests.app.auth.conftest import seed_tenant
from tests.app.harness import IdentityFactory


async def create_key(
    client: httpx.AsyncClient, headers: dict[str, str], *, name: str = "web", tier: Tier = Tier.STANDARD
) -> ApiKeyCreated:
    response = await client.post("/v1/api-keys", json={"name": name, "tier": tier.value}, headers=headers)
    assert response.status_code == 201, response.text
    return ApiKeyCreated.model_validate(response.json())


async def test_a_created_key_is_shown_once_and_only_its_hash_is_stored(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    tenant = await seed_tenant(auth_app, "acme")
    admin = identities.headers(identities.claims(tenant.id, scopes=[Scope.ADMIN]))

    created = await create_key(auth_client, admin)

    assert is_well_formed_api_key(created.key)
    assert created.key.startswith(created.prefix + "_")
    assert created.tier == Tier.STANDARD
    assert set(created.scopes) == {
        Scope.CONVERSATIONS_READ,
        Scope.CONVERSATIONS_WRITE,
        Scope.WIDGET_ISSUE,
        Scope.COMPLETIONS,
    }
    listed = (await auth_client.get("/v1/api-keys", headers=admin)).json()
    assert [key["id"] for key in listed] == [str(created.id)]
    assert "key" not in listed[0]
    database: Database = auth_app.state.database
    async with database.transaction() as session:
        row = await session.scalar(select(ApiKey).where(ApiKey.id == created.id))
    assert row is not None
    assert row.key_hash == hash_api_key(created.key)
    assert created.key not in (row.key_hash, row.prefix, row.name)


async def test_keys_are_listed_by_prefix_with_the_prefix_taken_literally(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    tenant = await seed_tenant(auth_app, "acme")
    admin = identities.headers(identities.claims(tenant.id, scopes=[Scope.ADMIN]))
    first = await create_key(auth_client, admin, name="one")
    await create_key(auth_client, admin, name="two")

    by_prefix = await auth_client.get("/v1/api-keys", params={"prefix": first.prefix}, headers=admin)
    assert [key["id"] for key in by_prefix.json()] == [str(first.id)]
    # "_" is a LIKE wildcard: a prefix must match literally, not as a pattern.
    wildcard = await auth_client.get("/v1/api-keys", params={"prefix": "hl_live%"}, headers=admin)
    assert wildcard.json() == []
    everything = await auth_client.get("/v1/api-keys", params={"prefix": "hl_live_"}, headers=admin)
    assert len(everything.json()) == 2


async def test_a_key_cannot_exceed_the_tenant_plan(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    tenant = await seed_tenant(auth_app, "small", max_tier=Tier.FREE)
    admin = identities.headers(identities.claims(tenant.id, scopes=[Scope.ADMIN]))

    response = await auth_client.post("/v1/api-keys", json={"name": "x", "tier": "standard"}, headers=admin)

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/tier-not-allowed"
    assert response.json()["max_tier"] == "free"
    assert (await auth_client.get("/v1/api-keys", headers=admin)).json() == []


async def test_a_plan_caps_the_active_keys_even_when_admins_race(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    tenant = await seed_tenant(auth_app, "small", max_tier=Tier.FREE)
    admin = identities.headers(identities.claims(tenant.id, scopes=[Scope.ADMIN]))
    cap = MAX_ACTIVE_KEYS[Tier.FREE]

    async def attempt(index: int) -> httpx.Response:
        return await auth_client.post("/v1/api-keys", json={"name": f"k{index}", "tier": "free"}, headers=admin)

    responses = await asyncio.gather(*(attempt(index) for index in range(cap + 5)))

    assert sorted(response.status_code for response in responses) == [201] * cap + [409] * 5
    refused = next(response for response in responses if response.status_code == 409)
    assert refused.json()["type"] == "/problems/key-limit-reached"
    assert refused.json()["max_keys"] == cap
    first = next(response.json() for response in responses if response.status_code == 201)
    assert (await auth_client.delete(f"/v1/api-keys/{first['id']}", headers=admin)).status_code == 204
    assert (await attempt(99)).status_code == 201  # a revoked key frees its place


async def test_revocation_is_immediate_in_the_database_and_at_the_gateway_cache(
    auth_app: FastAPI,
    auth_client: httpx.AsyncClient,
    identities: IdentityFactory,
    redis_url: str,
    redis_prefix: str,
) -> None:
    tenant = await seed_tenant(auth_app, "acme")
    admin = identities.headers(identities.claims(tenant.id, scopes=[Scope.ADMIN]))
    created = await create_key(auth_client, admin)
    layout = KeyspaceLayout(redis_prefix)
    redis = Redis.from_url(redis_url)
    await redis.set(layout.verified_key(hash_api_key(created.key)), "cached verification")

    response = await auth_client.delete(f"/v1/api-keys/{created.id}", headers=admin)

    assert response.status_code == 204
    verify = await auth_client.post(
        "/internal/v1/api-keys:verify", json={"key": created.key}, headers=identities.service_headers()
    )
    assert verify.status_code == 401
    assert verify.json()["detail"] == "The API key has been revoked."
    assert await redis.exists(layout.verified_key(hash_api_key(created.key))) == 0
    assert await redis.get(layout.key_state(created.id)) == b"revoked"
    assert 3600 < await redis.ttl(layout.key_state(created.id)) <= 3900
    state = await auth_client.get(f"/internal/v1/api-keys/{created.id}/state", headers=identities.service_headers())
    assert state.json() == {"key_id": str(created.id), "revoked": True}  # the truth, from Postgres
    listed = (await auth_client.get("/v1/api-keys", headers=admin)).json()
    assert listed[0]["revoked_at"] is not None
    # Idempotent: revoking again succeeds and changes nothing.
    assert (await auth_client.delete(f"/v1/api-keys/{created.id}", headers=admin)).status_code == 204
    await redis.aclose()


async def test_another_tenant_cannot_see_or_revoke_a_key(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    acme = await seed_tenant(auth_app, "acme")
    globex = await seed_tenant(auth_app, "globex")
    acme_admin = identities.headers(identities.claims(acme.id, scopes=[Scope.ADMIN]))
    globex_admin = identities.headers(identities.claims(globex.id, scopes=[Scope.ADMIN]))
    created = await create_key(auth_client, acme_admin)

    assert (await auth_client.get("/v1/api-keys", headers=globex_admin)).json() == []
    revoke = await auth_client.delete(f"/v1/api-keys/{created.id}", headers=globex_admin)
    assert revoke.status_code == 404
    assert revoke.json()["type"] == "/problems/not-found"
    listed = (await auth_client.get("/v1/api-keys", headers=acme_admin)).json()
    assert listed[0]["revoked_at"] is None


async def test_managing_keys_needs_the_admin_scope(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    tenant = await seed_tenant(auth_app, "acme")
    agent = identities.headers(identities.claims(tenant.id, role=Role.AGENT, scopes=[Scope.AGENT]))

    for method, path in (("GET", "/v1/api-keys"), ("POST", "/v1/api-keys"), ("DELETE", f"/v1/api-keys/{tenant.id}")):
        response = await auth_client.request(method, path, headers=agent, json={"name": "x"})
        assert response.status_code == 403, (method, path)
        assert response.json()["required_scopes"] == ["admin"]


async def test_a_revocation_that_cannot_reach_redis_fails_and_leaves_the_key_active(
    auth_app: FastAPI, auth_client: httpx.AsyncClient, identities: IdentityFactory
) -> None:
    tenant = await seed_tenant(auth_app, "acme")
    admin = identities.headers(identities.claims(tenant.id, scopes=[Scope.ADMIN]))
    created = await create_key(auth_client, admin)
    publisher = auth_app.state.auth_service.revocations
    working = publisher.redis
    publisher.redis = Redis.from_url("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        response = await auth_client.delete(f"/v1/api-keys/{created.id}", headers=admin)
    finally:
        await publisher.redis.aclose()
        publisher.redis = working

    assert response.status_code == 503
    assert response.json()["type"] == "/problems/dependency-unavailable"
    listed = (await auth_client.get("/v1/api-keys", headers=admin)).json()
    assert listed[0]["revoked_at"] is None  # rolled back: never "revoked" on paper only
