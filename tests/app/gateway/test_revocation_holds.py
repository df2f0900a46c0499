"""Revocation and lockouts that hold: across gateway replicas, after Redis loses its data, after a restart.

Real auth (Postgres), real Redis, two real gateways sharing them. Redis losing data is simulated by deleting
every key under this test's prefix (the shared server is never flushed): what a restart without persistence,
an eviction or a failover to an empty replica leaves behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from redis.asyncio import Redis

from app.contracts.api import Tier
from app.gateway.app import build_app as build_gateway_app
from app.gateway.settings import GatewaySettings
from tests.app.gateway.conftest import USER_PASSWORD, RunningService, Tenant, agent_headers, provision
from tests.app.harness import serve_app


async def lose_redis_data(redis_url: str, prefix: str) -> int:
    redis = Redis.from_url(redis_url)
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
    return len(keys)


@asynccontextmanager
async def replica(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    """Another gateway process on the same Redis and auth, and a client for it."""
    async with (
        serve_app(build_gateway_app(settings)) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=10) as client,
    ):
        yield client


@pytest.fixture
async def second_gateway(gateway_settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    async with replica(gateway_settings) as client:
        yield client


async def widget_headers(gateway: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    issued = await gateway.post("/v1/widget-tokens", json={"end_user_id": "visitor-9"}, headers=tenant.headers)
    assert issued.status_code == 200, issued.text
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


async def test_a_revoked_keys_widget_tokens_stay_refused_on_every_replica_after_redis_loses_its_data(
    *,
    gateway: httpx.AsyncClient,
    second_gateway: httpx.AsyncClient,
    gateway_settings: GatewaySettings,
    auth_service: RunningService,
    redis_url: str,
    redis_prefix: str,
) -> None:
    issuer = await provision(auth_service, "shop", Tier.STANDARD)
    other = await provision(auth_service, "other", Tier.STANDARD)
    widget, other_widget = await widget_headers(gateway, issuer), await widget_headers(gateway, other)
    for running in (gateway, second_gateway):
        assert (await running.post("/v1/conversations", json={}, headers=widget)).status_code == 201

    assert (await gateway.delete(f"/v1/api-keys/{issuer.key_id}", headers=issuer.headers)).status_code == 204

    async def refused_everywhere() -> None:
        for running in (gateway, second_gateway):
            for headers in (widget, issuer.headers):
                response = await running.post("/v1/conversations", json={}, headers=headers)
                assert response.status_code == 401, response.text
                assert "revoked" in response.json()["detail"]
            assert (await running.post("/v1/conversations", json={}, headers=other_widget)).status_code == 201

    await refused_everywhere()
    assert await lose_redis_data(redis_url, redis_prefix) > 0
    await refused_everywhere()
    await lose_redis_data(redis_url, redis_prefix)
    async with replica(gateway_settings) as restarted:  # a replica that starts after the loss
        assert (await restarted.post("/v1/conversations", json={}, headers=widget)).status_code == 401
        assert (await restarted.post("/v1/conversations", json={}, headers=other_widget)).status_code == 201


async def login(gateway: httpx.AsyncClient, tenant: Tenant, password: str, client_ip: str) -> httpx.Response:
    body = {"tenant": tenant.slug, "email": "ana@acme.test", "password": password}
    return await gateway.post("/v1/auth/token", json=body, headers={"X-Forwarded-For": client_ip})


async def test_a_guesser_locks_out_only_itself_and_the_lockout_survives_a_replica_change(
    gateway: httpx.AsyncClient, second_gateway: httpx.AsyncClient, acme: Tenant
) -> None:
    await agent_headers(gateway, acme, "ana@acme.test")  # the real user, with USER_PASSWORD
    attacker, victim = "203.0.113.66", "198.51.100.7"
    for _ in range(10):
        assert (await login(gateway, acme, "wrong password!", attacker)).status_code == 401

    locked = await login(second_gateway, acme, USER_PASSWORD, attacker)  # even the right password, on any replica
    assert locked.status_code == 429
    assert locked.headers["content-type"] == "application/problem+json"
    assert int(locked.headers["Retry-After"]) > 60
    assert (await login(gateway, acme, USER_PASSWORD, victim)).status_code == 200  # the real user is not locked out


async def test_a_success_clears_the_clients_failures_and_stuffing_across_accounts_is_capped(
    gateway: httpx.AsyncClient, acme: Tenant
) -> None:
    await agent_headers(gateway, acme, "ana@acme.test")
    client = "192.0.2.10"
    for _ in range(9):
        assert (await login(gateway, acme, "wrong password!", client)).status_code == 401
    assert (await login(gateway, acme, USER_PASSWORD, client)).status_code == 200
    for _ in range(9):  # a fresh budget after the success
        assert (await login(gateway, acme, "wrong password!", client)).status_code == 401

    stuffer = "192.0.2.99"
    statuses = []
    for number in range(51):
        body = {"tenant": acme.slug, "email": f"user{number}@acme.test", "password": "guess guess"}
        response = await gateway.post("/v1/auth/token", json=body, headers={"X-Forwarded-For": stuffer})
        statuses.append(response.status_code)
    assert statuses[:50] == [401] * 50
    assert statuses[50] == 429
