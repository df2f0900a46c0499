"""Token quotas under concurrency, on the real path: gateway (Redis) -> chat -> router -> an engine simulator whose
answers run long (3,000 tokens unless cut), as the issue's five completions that each ran to 2,517 tokens did.

One free tenant with 25 keys (what minting keys bought before quotas were per tenant) sends 50 streamed completions
at once against its 10,000-token day: what is served never exceeds the quota plus one request's reservation, the
streams the quota cut end with the in-band quota error, the others are refused with 429, and the tenant's counter
ends at exactly the usage the engine reported.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest

from app.auth import repository
from app.contracts.api import Scope, Tier
from app.core.api_keys import generate_api_key
from app.core.db import Database
from app.core.sse import SSEParser
from app.enginesim.launcher import EngineSimProcess
from app.gateway.app import build_app as build_gateway_app
from app.gateway.policy import TIER_POLICIES
from app.gateway.settings import GatewaySettings
from app.router.app import create_router_app
from tests.app.chat.conftest import (
    CHAT_MODEL,
    _empty_schemas,
    chat_database,
    chat_settings_for,
    engine,
    router_settings,
    sessions_database,
    sessions_server,
)
from tests.app.gateway.conftest import RunningService, Tenant, auth_service
from tests.app.harness import PostgresDatabase, RunningServer, eventually, serve_app

__all__ = ["_empty_schemas", "auth_service", "chat_database", "sessions_database", "sessions_server"]

KEYS = 25
REQUESTS = 50
QUOTA = TIER_POLICIES[Tier.FREE].tokens_per_day
RESERVATION = TIER_POLICIES[Tier.FREE].request_token_budget


@pytest.fixture(scope="module")
def long_engine() -> Iterator[EngineSimProcess]:
    process = engine(CHAT_MODEL, "--sim-output-tokens", "3000", "--max-num-seqs", "64")
    with process:
        yield process


@pytest.fixture
async def gateway(  # noqa: PLR0917 (fixtures are positional)
    long_engine: EngineSimProcess,
    chat_database: PostgresDatabase,
    sessions_server: RunningServer,
    auth_service: RunningService,
    internal_secret: str,
    redis_url: str,
    redis_prefix: str,
) -> AsyncIterator[httpx.AsyncClient]:
    from app.chat.app import build_app as build_chat_app

    async with serve_app(create_router_app(router_settings([long_engine.base_url], [long_engine.base_url]))) as router:
        chat_settings = chat_settings_for(
            database=chat_database,
            sessions_url=sessions_server.base_url,
            engine_url=f"{router.base_url}/v1",
            internal_secret=internal_secret,
            classifier_model=None,
            engine_total_timeout_seconds=120.0,
        )
        async with serve_app(build_chat_app(chat_settings)) as chat:
            settings = GatewaySettings(
                environment="test",
                internal_token_secret=internal_secret,  # type: ignore[arg-type]
                redis_url=redis_url,
                redis_key_prefix=redis_prefix,
                auth_url=auth_service.base_url,
                sessions_url=sessions_server.base_url,
                chat_url=chat.base_url,
                log_level="WARNING",
            )
            async with (
                serve_app(build_gateway_app(settings)) as gateway_server,
                httpx.AsyncClient(base_url=gateway_server.base_url, timeout=120) as client,
            ):
                yield client


async def free_tenant_with_keys(auth: RunningService, count: int) -> list[Tenant]:
    database: Database = auth.app.state.database
    async with database.transaction() as session:
        tenant = await repository.create_tenant(session, slug="many-keys", name="many-keys", max_tier=Tier.FREE)
        keys = []
        for index in range(count):
            generated = generate_api_key()
            row = await repository.create_api_key(
                session, tenant_id=tenant.id, name=f"k{index}", tier=Tier.FREE, scopes=list(Scope), generated=generated
            )
            keys.append(Tenant(id=tenant.id, slug="many-keys", key=generated.key, key_id=row.id, tier=Tier.FREE))
    return keys


async def stream_completion(gateway: httpx.AsyncClient, key: Tenant) -> tuple[int, list[dict[str, Any]]]:
    body = {
        "model": CHAT_MODEL,
        "messages": [{"role": "user", "content": "Tell me everything about your return policy."}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    async with gateway.stream("POST", "/v1/chat/completions", json=body, headers=key.headers) as response:
        raw = await response.aread()
    if response.status_code != 200:
        return response.status_code, [orjson.loads(raw)]
    return 200, [orjson.loads(e.data) for e in SSEParser().feed(raw) if e.data != "[DONE]"]


async def test_50_concurrent_streams_never_spend_more_than_the_quota_plus_one_reservation(
    gateway: httpx.AsyncClient, auth_service: RunningService, redis_url: str, redis_prefix: str
) -> None:
    assert QUOTA is not None
    assert RESERVATION is not None
    keys = await free_tenant_with_keys(auth_service, KEYS)
    for key in keys:  # each key verified once by auth (then cached): the burst below is about tokens only
        assert (await gateway.get("/v1/models", headers=key.headers)).status_code == 200

    results = await asyncio.gather(*(stream_completion(gateway, keys[i % KEYS]) for i in range(REQUESTS)))

    served = [chunks for status, chunks in results if status == 200]
    refused = [chunks for status, chunks in results if status != 200]
    assert {status for status, _ in results} <= {200, 429}
    assert all(body[0]["error"]["code"] == "quota-exceeded" for body in refused), refused[:1]
    usages = [next(c["usage"] for c in chunks if c.get("usage")) for chunks in served]
    spent = sum(usage["total_tokens"] for usage in usages)
    assert served, "the quota admits some requests"
    assert spent <= QUOTA + RESERVATION
    assert spent <= QUOTA  # in fact within the quota: the prompt estimate is pessimistic
    # Every served answer ran into its budget (the engine would have written 3,000 tokens) and says so in-band.
    assert all(any(c.get("error", {}).get("code") == "quota-exceeded" for c in chunks) for chunks in served)
    # The tenant's counter is settled to exactly what the engine reported.
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        await eventually(lambda: redis.get(keys[0].tokens_key(redis_prefix)), lambda value: int(value or 0) == spent)
    finally:
        await redis.aclose()
    print(f"served {len(served)} of {REQUESTS}, {spent} tokens against a {QUOTA}-token quota")
