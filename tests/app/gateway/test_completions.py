"""The OpenAI-compatible pass-through: streamed or not, metered, limited, and OpenAI-shaped errors."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis

from app.contracts.api import Scope, Tier
from app.core.sse import SSEParser
from tests.app.gateway.conftest import RunningService, Tenant, provision
from tests.app.gateway.stand_ins import StandInState
from tests.app.harness import eventually

REQUEST = {"model": "helpline-chat", "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.1}


async def charged(redis_url: str, prefix: str, tenant: Tenant) -> int:
    redis = Redis.from_url(redis_url)
    value = await redis.get(tenant.tokens_key(prefix))
    await redis.aclose()
    return int(value or 0)


def data_lines(body: bytes) -> list[str]:
    return [event.data for event in SSEParser().feed(body)]


async def test_a_completion_passes_through_and_is_charged(
    gateway: httpx.AsyncClient, acme: Tenant, stand_in_state: StandInState, redis_url: str, redis_prefix: str
) -> None:
    response = await gateway.post("/v1/chat/completions", json=REQUEST, headers=acme.headers)

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Hi!"
    assert stand_in_state.received[-1].path == "/internal/v1/chat/completions"
    assert stand_in_state.received[-1].body == {**REQUEST, "stream": False}  # allowed parameters pass through
    await eventually(lambda: charged(redis_url, redis_prefix, acme), lambda tokens: tokens == 15)


async def test_a_stream_is_charged_from_its_usage_chunk_which_only_clients_that_asked_see(
    gateway: httpx.AsyncClient, acme: Tenant, stand_in_state: StandInState, redis_url: str, redis_prefix: str
) -> None:
    plain = await gateway.post("/v1/chat/completions", json={**REQUEST, "stream": True}, headers=acme.headers)
    with_usage = await gateway.post(
        "/v1/chat/completions",
        json={**REQUEST, "stream": True, "stream_options": {"include_usage": True}},
        headers=acme.headers,
    )

    assert stand_in_state.received[-2].body["stream_options"] == {"include_usage": True}  # always asked upstream
    plain_lines = data_lines(plain.content)
    assert plain_lines[-1] == "[DONE]"
    assert not any('"choices":[]' in line for line in plain_lines)
    assert any('"choices":[]' in line and '"total_tokens":15' in line for line in data_lines(with_usage.content))
    await eventually(lambda: charged(redis_url, redis_prefix, acme), lambda tokens: tokens == 30)


def assert_openai_error(response: httpx.Response, status: int, type_: str, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["code"]) == (type_, code)
    assert response.headers["x-request-id"]
    return error


async def test_errors_have_openais_shape(
    gateway: httpx.AsyncClient, auth_service: RunningService, acme: Tenant
) -> None:
    no_scope = await provision(auth_service, "reader", Tier.STANDARD, scopes=[Scope.CONVERSATIONS_READ])

    assert_openai_error(
        await gateway.post("/v1/chat/completions", json=REQUEST), 401, "authentication_error", "unauthorized"
    )
    assert_openai_error(
        await gateway.post("/v1/chat/completions", json=REQUEST, headers=no_scope.headers),
        403,
        "permission_error",
        "insufficient-scope",
    )
    invalid = assert_openai_error(
        await gateway.post("/v1/chat/completions", json={**REQUEST, "messages": []}, headers=acme.headers),
        422,
        "invalid_request_error",
        "validation-error",
    )
    assert invalid["param"] == "messages"


async def test_rate_limits_apply_and_answer_in_openais_shape(
    gateway: httpx.AsyncClient, auth_service: RunningService
) -> None:
    tenant = await provision(auth_service, "small", Tier.FREE)

    for _ in range(10):
        assert (await gateway.post("/v1/chat/completions", json=REQUEST, headers=tenant.headers)).status_code == 200
    refused = await gateway.post("/v1/chat/completions", json=REQUEST, headers=tenant.headers)

    assert_openai_error(refused, 429, "rate_limit_error", "rate-limited")
    assert refused.headers["retry-after"]
    assert refused.headers["ratelimit-limit"] == "10"


DANGEROUS = {
    **REQUEST,
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is this?"}]},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://169.254.169.254/latest"}}]},
    ],
    "ignore_eos": True,
    "logits_processors": ["evil.module:Processor"],
    "structured_outputs": {"grammar": "root ::= 'a'*"},
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"$ref": "http://internal/schema"}}}],
}


async def test_fields_outside_the_allowlist_are_refused_all_named_and_nothing_is_forwarded(
    gateway: httpx.AsyncClient, acme: Tenant, stand_in_state: StandInState
) -> None:
    response = await gateway.post("/v1/chat/completions", json=DANGEROUS, headers=acme.headers)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "fields-not-allowed"
    assert error["type"] == "invalid_request_error"
    for field in (
        "ignore_eos",
        "logits_processors",
        "structured_outputs",
        "messages[1].content[0].type=image_url",
        "tools[0].function.parameters.$ref",
    ):
        assert field in error["message"]
    assert error["param"] == "ignore_eos"
    assert stand_in_state.received == []


async def test_the_allowlist_depends_on_the_tier(
    gateway: httpx.AsyncClient, auth_service: RunningService, stand_in_state: StandInState
) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    free = await provision(auth_service, "free-tier", Tier.FREE, scopes=[Scope.COMPLETIONS])
    standard = await provision(auth_service, "standard-tier", Tier.STANDARD, scopes=[Scope.COMPLETIONS])

    refused = await gateway.post("/v1/chat/completions", json={**REQUEST, "tools": tools}, headers=free.headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "tools"
    allowed = await gateway.post("/v1/chat/completions", json={**REQUEST, "tools": tools}, headers=standard.headers)
    assert allowed.status_code == 200, allowed.text
    assert stand_in_state.received[-1].body["tools"] == tools
