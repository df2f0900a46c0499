"""Cross-service flows through the public API: gateway -> chat -> router -> engine replicas, and sessions.

What the services' own tests cannot show: the router's affinity paying off in the engine's prefix cache for a
real conversation, a customer leaving mid-answer at the gateway leaving a partial message behind, and an
idempotent retry at the gateway answered once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from app.core.sse import SSEParser
from tests.app.chat.conftest import (  # the real path behind the gateway
    Engines,
    _clear_faults,
    _empty_schemas,
    chat_database,
    chat_options,
    chat_server,
    engines,
    home,
    router,
    sessions_database,
    sessions_server,
)
from tests.app.enginesim.support import metric
from tests.app.gateway.conftest import Tenant, acme, auth_service, gateway, gateway_app
from tests.app.gateway.test_full_path import gateway_settings
from tests.app.harness import eventually
from tests.app.knowledge.servers import embedding_server, embedding_simulator, knowledge_database, knowledge_server

__all__ = [  # imported for pytest to find them here
    "_clear_faults",
    "_empty_schemas",
    "acme",
    "auth_service",
    "chat_database",
    "chat_options",
    "chat_server",
    "embedding_server",
    "embedding_simulator",
    "engines",
    "gateway",
    "gateway_app",
    "gateway_settings",
    "knowledge_database",
    "knowledge_server",
    "router",
    "sessions_database",
    "sessions_server",
]


async def new_conversation(gateway: httpx.AsyncClient, tenant: Tenant) -> str:
    response = await gateway.post("/v1/conversations", json={}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def streamed_turn(
    gateway: httpx.AsyncClient, tenant: Tenant, conversation: str, text: str, key: str | None = None
) -> list[tuple[str, dict]]:
    headers = {**tenant.headers, "Accept": "text/event-stream", **({"Idempotency-Key": key} if key else {})}
    path = f"/v1/conversations/{conversation}/messages"
    async with gateway.stream("POST", path, json={"content": text}, headers=headers) as response:
        assert response.status_code == 200
        body = await response.aread()
    return [(event.event, event.json()) for event in SSEParser().feed(body)]


async def messages(gateway: httpx.AsyncClient, tenant: Tenant, conversation: str) -> list[dict]:
    response = await gateway.get(f"/v1/conversations/{conversation}/messages", headers=tenant.headers)
    return response.json()["items"]


async def test_a_conversation_stays_on_one_replica_and_reuses_its_prefix_cache(
    gateway: httpx.AsyncClient, acme: Tenant, engines: Engines
) -> None:
    conversation = await new_conversation(gateway, acme)
    same = home(engines, conversation)
    other = next(process for process in engines.chat if process is not same)
    served_before = {p.base_url: metric(p, "vllm:request_success_total", finished_reason="stop") for p in engines.chat}
    hits_before = metric(same, "vllm:prefix_cache_hits_total")
    for text in ("My parcel has not arrived.", "It was order 1234.", "Can you check again?"):
        events = await streamed_turn(gateway, acme, conversation, text)
        assert events[-1][0] == "done"
    served_after = {p.base_url: metric(p, "vllm:request_success_total", finished_reason="stop") for p in engines.chat}
    assert served_after[same.base_url] - served_before[same.base_url] == 3
    assert served_after[other.base_url] == served_before[other.base_url]
    # Turns two and three re-send the earlier turns: the replica that saw them serves them from its cache.
    assert metric(same, "vllm:prefix_cache_hits_total") > hits_before


async def test_a_customer_leaving_mid_answer_leaves_a_partial_message(
    gateway: httpx.AsyncClient, acme: Tenant, engines: Engines
) -> None:
    conversation = await new_conversation(gateway, acme)
    home(engines, conversation).arm_fault("slow", factor=50)  # long enough to leave in the middle
    headers = {**acme.headers, "Accept": "text/event-stream"}
    request = gateway.build_request(
        "POST", f"/v1/conversations/{conversation}/messages", json={"content": "Explain my bill"}, headers=headers
    )
    response = await gateway.send(request, stream=True)
    chunks: AsyncIterator[bytes] = response.aiter_raw()
    parser, seen = SSEParser(), []
    while "delta" not in seen:
        seen += [event.event for event in parser.feed(await anext(chunks))]
    await response.aclose()  # the customer closes the tab

    stored = await eventually(
        lambda: messages(gateway, acme, conversation), lambda items: items[-1]["status"] != "streaming", 15
    )
    answer = stored[-1]
    assert (answer["role"], answer["status"]) == ("assistant", "partial")
    assert answer["content"]


async def test_an_idempotent_retry_at_the_gateway_is_answered_once(
    gateway: httpx.AsyncClient, acme: Tenant, engines: Engines
) -> None:
    conversation = await new_conversation(gateway, acme)
    engine = home(engines, conversation)
    first = await streamed_turn(gateway, acme, conversation, "Cancel my subscription", key="tab-1")
    served = metric(engine, "vllm:request_success_total", finished_reason="stop")
    retry = await streamed_turn(gateway, acme, conversation, "Cancel my subscription", key="tab-1")
    assert metric(engine, "vllm:request_success_total", finished_reason="stop") == served
    assert retry[-1][1]["message"]["id"] == first[-1][1]["message"]["id"]
    assert len(await messages(gateway, acme, conversation)) == 2
