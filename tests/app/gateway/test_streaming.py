"""Turns through the gateway: SSE relayed as it is produced, leases and charges, refusals over HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from app.contracts.api import Tier
from app.contracts.internal import SATURATED_HEADER
from app.core.api_keys import KeyspaceLayout
from app.core.metrics import REGISTRY
from app.core.sse import SSEEvent, SSEParser
from tests.app.gateway.conftest import RunningService, Tenant, provision
from tests.app.gateway.stand_ins import USAGE, StandInState
from tests.app.harness import eventually

SSE = {"Accept": "text/event-stream"}


def metric(name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


async def tokens_charged(redis_url: str, prefix: str, tenant: Tenant) -> int:
    redis = Redis.from_url(redis_url)
    value = await redis.get(tenant.tokens_key(prefix))
    await redis.aclose()
    return int(value or 0)


async def current(value: object) -> object:
    return value


async def conversation_of(gateway: httpx.AsyncClient, tenant: Tenant) -> str:
    return (await gateway.post("/v1/conversations", json={}, headers=tenant.headers)).json()["id"]


@asynccontextmanager
async def open_turn(gateway: httpx.AsyncClient, tenant: Tenant, conversation: str) -> AsyncIterator[httpx.Response]:
    async with gateway.stream(
        "POST", f"/v1/conversations/{conversation}/messages", json={"content": "hi"}, headers={**tenant.headers, **SSE}
    ) as response:
        yield response


async def next_event(chunks: AsyncIterator[bytes], parser: SSEParser, pending: list[SSEEvent]) -> SSEEvent:
    while not pending:
        pending.extend(parser.feed(await anext(chunks)))
    return pending.pop(0)


async def test_events_reach_the_client_as_they_are_produced_and_the_usage_is_charged(
    gateway: httpx.AsyncClient, acme: Tenant, stand_in_state: StandInState, redis_url: str, redis_prefix: str
) -> None:
    conversation = await conversation_of(gateway, acme)
    stand_in_state.hold = asyncio.Event()
    ttft_before = metric("helpline_time_to_first_token_seconds_count", service="gateway", model="helpline-chat")

    async with open_turn(gateway, acme, conversation) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        chunks, parser, pending = response.aiter_raw(), SSEParser(), []
        first = await next_event(chunks, parser, pending)
        assert first.event == "message"  # arrived while chat is still holding the answer: nothing buffered
        stand_in_state.hold.set()
        rest = [await next_event(chunks, parser, pending) for _ in range(6)]

    assert [event.event for event in rest] == ["delta"] * 5 + ["done"]
    assert "".join(event.json()["text"] for event in rest[:5]) == "Thanks for reaching out."
    ttft = "helpline_time_to_first_token_seconds_count"
    assert metric(ttft, service="gateway", model="helpline-chat") == ttft_before + 1
    await eventually(lambda: tokens_charged(redis_url, redis_prefix, acme), lambda tokens: tokens == USAGE.total_tokens)


async def test_a_client_leaving_mid_stream_stops_the_answer_and_frees_its_slot(
    gateway: httpx.AsyncClient,
    auth_service: RunningService,
    stand_in_state: StandInState,
    redis_url: str,
    redis_prefix: str,
) -> None:
    tenant = await provision(auth_service, "small", Tier.FREE)
    conversation = await conversation_of(gateway, tenant)
    stand_in_state.hold = asyncio.Event()

    async with open_turn(gateway, tenant, conversation) as response:
        chunks = response.aiter_raw()
        await anext(chunks)  # the `message` event; then the client goes away
        await chunks.aclose()

    await eventually(lambda: current(stand_in_state.streams_cancelled), lambda cancelled: cancelled == 1)
    redis = Redis.from_url(redis_url)
    streams_key = KeyspaceLayout(redis_prefix).streams(tenant.key_id)
    await eventually(lambda: redis.zcard(streams_key), lambda open_leases: open_leases == 0)
    await redis.aclose()
    assert await tokens_charged(redis_url, redis_prefix, tenant) == 0  # nothing answered, nothing charged


async def test_a_free_key_gets_two_streams_at_once_and_a_429_for_the_third(
    gateway: httpx.AsyncClient, auth_service: RunningService, stand_in_state: StandInState
) -> None:
    tenant = await provision(auth_service, "small", Tier.FREE)
    conversation = await conversation_of(gateway, tenant)
    stand_in_state.hold = asyncio.Event()
    refused_before = metric("helpline_rate_limit_rejections_total", tier="free", limit="streams")

    async with open_turn(gateway, tenant, conversation) as first, open_turn(gateway, tenant, conversation) as second:
        first_chunks, second_chunks = first.aiter_raw(), second.aiter_raw()  # kept: a dropped iterator closes
        await anext(first_chunks)
        await anext(second_chunks)
        third = await gateway.post(
            f"/v1/conversations/{conversation}/messages", json={"content": "hi"}, headers={**tenant.headers, **SSE}
        )
        assert third.status_code == 429
        assert third.json()["type"] == "/problems/too-many-streams"
        assert third.headers["retry-after"] == "5"
        assert third.headers["ratelimit-limit"] == "2"
        stand_in_state.hold.set()

    assert metric("helpline_rate_limit_rejections_total", tier="free", limit="streams") == refused_before + 1
    await eventually(lambda: current(stand_in_state.streams_finished), lambda finished: finished == 2)
    async with open_turn(gateway, tenant, conversation) as again:
        assert again.status_code == 200


async def test_a_free_key_gets_ten_requests_a_minute(gateway: httpx.AsyncClient, auth_service: RunningService) -> None:
    tenant = await provision(auth_service, "small", Tier.FREE)

    statuses = [
        (await gateway.post("/v1/conversations", json={}, headers=tenant.headers)).status_code for _ in range(10)
    ]
    refused = await gateway.post("/v1/conversations", json={}, headers=tenant.headers)

    assert statuses == [201] * 10
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "/problems/rate-limited"
    assert refused.headers["ratelimit-limit"] == "10"
    assert refused.headers["ratelimit-policy"] == "10;w=60"
    assert int(refused.headers["retry-after"]) >= 1


async def test_a_tenant_whose_tokens_are_used_up_is_refused_until_midnight_utc(
    gateway: httpx.AsyncClient, auth_service: RunningService, redis_url: str, redis_prefix: str
) -> None:
    tenant = await provision(auth_service, "small", Tier.FREE)
    conversation = await conversation_of(gateway, tenant)
    redis = Redis.from_url(redis_url)
    await redis.set(tenant.tokens_key(redis_prefix), 10_000 - 500)

    answered = await gateway.post(
        f"/v1/conversations/{conversation}/messages", json={"content": "hi"}, headers=tenant.headers
    )
    assert answered.status_code == 200  # 500 tokens left: reserved, answered, settled to the real usage
    await eventually(
        lambda: tokens_charged(redis_url, redis_prefix, tenant), lambda tokens: tokens == 9_500 + USAGE.total_tokens
    )
    await redis.set(tenant.tokens_key(redis_prefix), 10_000 - 10)  # fewer left than any request needs
    await redis.aclose()

    refused = await gateway.post(
        f"/v1/conversations/{conversation}/messages", json={"content": "hi"}, headers=tenant.headers
    )

    assert refused.status_code == 429
    assert refused.json()["type"] == "/problems/quota-exceeded"
    assert refused.headers["ratelimit-policy"] == "10000;w=86400"
    assert refused.headers["ratelimit-remaining"] == "10"
    assert 1 <= int(refused.headers["retry-after"]) <= 86_400


async def test_a_replayed_turn_is_not_charged_twice(
    gateway: httpx.AsyncClient, acme: Tenant, stand_in_state: StandInState, redis_url: str, redis_prefix: str
) -> None:
    conversation = await conversation_of(gateway, acme)
    stand_in_state.replay = True
    headers = {**acme.headers, "Idempotency-Key": "retry-1"}

    json_turn = await gateway.post(
        f"/v1/conversations/{conversation}/messages", json={"content": "hi"}, headers=headers
    )
    async with gateway.stream(
        "POST", f"/v1/conversations/{conversation}/messages", json={"content": "hi"}, headers={**headers, **SSE}
    ) as streamed:
        await streamed.aread()

    assert json_turn.status_code == 200
    assert stand_in_state.received[-1].headers["idempotency-key"] == "retry-1"
    await asyncio.sleep(0.1)
    assert await tokens_charged(redis_url, redis_prefix, acme) == 0


async def test_a_turn_forwarded_while_the_model_is_saturated_says_so_to_chat(
    gateway: httpx.AsyncClient, gateway_app: RunningService, acme: Tenant, stand_in_state: StandInState
) -> None:
    """Chat's degradation ladder reads the gateway's saturation signal from ``X-Helpline-Saturated``; a client
    cannot set it (the gateway builds the forwarded headers itself)."""
    conversation = await conversation_of(gateway, acme)
    path = f"/v1/conversations/{conversation}/messages"
    forged = await gateway.post(path, json={"content": "hi"}, headers={**acme.headers, SATURATED_HEADER: "true"})
    assert forged.status_code == 200
    assert SATURATED_HEADER.lower() not in stand_in_state.received[-1].headers

    admission = gateway_app.app.state.gateway.engine_admission
    real = admission.saturation
    admission.saturation = lambda model: dataclasses.replace(real(model), saturated=True)
    try:
        marked = await gateway.post(path, json={"content": "hi again"}, headers=acme.headers)
    finally:
        admission.saturation = real
    assert marked.status_code == 200
    assert stand_in_state.received[-1].headers[SATURATED_HEADER.lower()] == "true"
