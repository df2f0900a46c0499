"""The gateway in front of the real services: auth, sessions, chat, the router and simulated engines.

The stand-in is gone here: every public route goes through the services that own it. This is where the
cross-tenant guarantee is checked endpoint by endpoint, a conversation is followed from the first message to
an agent resolving it, and schemathesis fuzzes the whole API against the real answers.

Schemathesis: property-based requests for every operation, authenticated with an enterprise admin key (every
scope). The servers run in this test's event loop, so its synchronous calls are made from a worker thread.
Examples per operation are bounded and derandomised: reproducible, well under a minute. Every default check
runs except ``positive_data_acceptance``: some valid-looking input is refused on meaning the schema cannot
express (an opaque cursor that does not decode, a model the deployment does not serve) with a precise 400/422
problem. Schema conformance, status codes, content types and "no 5xx" are all enforced.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from redis.asyncio import Redis
from schemathesis.checks import positive_data_acceptance

from app.contracts.api import Tier
from app.core.sse import SSEParser
from app.gateway.settings import GatewaySettings
from tests.app.chat.conftest import (  # the real path behind chat, shared with the chat tests
    _clear_faults,
    _empty_schemas,
    chat_database,
    chat_options,
    chat_server,
    engines,
    router,
    sessions_database,
    sessions_server,
)
from tests.app.gateway.conftest import RunningService, Tenant, agent_headers, provision
from tests.app.harness import RunningServer, eventually
from tests.app.knowledge.servers import embedding_server, embedding_simulator, knowledge_database, knowledge_server

__all__ = [  # imported for pytest to find them here
    "_clear_faults",
    "_empty_schemas",
    "chat_database",
    "chat_options",
    "chat_server",
    "embedding_server",
    "embedding_simulator",
    "engines",
    "knowledge_database",
    "knowledge_server",
    "router",
    "sessions_database",
    "sessions_server",
]


EXAMPLES_PER_OPERATION = 12


def run_schemathesis(document: dict[str, object], base_url: str, headers: dict[str, str]) -> list[str]:
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
            case.validate_response(response, excluded_checks=[positive_data_acceptance])

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failures, report them together
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    return failures


@pytest.fixture
def gateway_settings(
    *,
    internal_secret: str,
    redis_url: str,
    redis_prefix: str,
    auth_service: RunningService,
    sessions_server: RunningServer,
    chat_server: RunningServer,
    knowledge_server: RunningServer,
) -> GatewaySettings:
    return GatewaySettings(
        environment="test",
        internal_token_secret=internal_secret,  # type: ignore[arg-type]
        redis_url=redis_url,
        redis_key_prefix=redis_prefix,
        auth_url=auth_service.base_url,
        sessions_url=sessions_server.base_url,
        chat_url=chat_server.base_url,
        knowledge_url=knowledge_server.base_url,
        log_level="WARNING",
    )


async def stream_turn(
    gateway: httpx.AsyncClient, headers: dict[str, str], conversation: str, text: str
) -> list[tuple[str, dict]]:
    async with gateway.stream(
        "POST",
        f"/v1/conversations/{conversation}/messages",
        json={"content": text},
        headers={**headers, "Accept": "text/event-stream"},
    ) as response:
        assert response.status_code == 200
        body = await response.aread()
    return [(event.event, event.json()) for event in SSEParser().feed(body)]


async def test_a_conversation_from_first_message_to_an_agent_resolving_it(
    gateway: httpx.AsyncClient, acme: Tenant, redis_url: str, redis_prefix: str
) -> None:
    conversation = (await gateway.post("/v1/conversations", json={"customer_ref": "c-9"}, headers=acme.headers)).json()[
        "id"
    ]

    events = await stream_turn(gateway, acme.headers, conversation, "My order has not arrived.")

    names = [name for name, _ in events]
    assert names[0] == "message"
    assert names[-1] == "done"
    assert "delta" in names
    reply = events[-1][1]["message"]
    assert reply["status"] == "complete"
    redis = Redis.from_url(redis_url)
    tokens_key = acme.tokens_key(redis_prefix)

    async def charged() -> int:
        return int(await redis.get(tokens_key) or 0)

    await eventually(charged, lambda tokens: tokens == reply["usage"]["total_tokens"])
    await redis.aclose()

    feedback = await gateway.post(
        f"/v1/conversations/{conversation}/messages/{reply['id']}/feedback", json={"rating": "up"}, headers=acme.headers
    )
    assert feedback.status_code == 201, feedback.text
    handoff = await gateway.post(
        f"/v1/conversations/{conversation}/handoff", json={"reason": "human please"}, headers=acme.headers
    )
    assert handoff.json()["status"] == "waiting_human"

    agent = await agent_headers(gateway, acme, "ana@acme.test")
    queue = (await gateway.get("/v1/agent/conversations", headers=agent)).json()["items"]
    assert conversation in [item["id"] for item in queue]
    assert (await gateway.post(f"/v1/agent/conversations/{conversation}/claim", headers=agent)).json()[
        "status"
    ] == "with_agent"
    answer = await gateway.post(
        f"/v1/agent/conversations/{conversation}/messages", json={"content": "Ana here, checking."}, headers=agent
    )
    assert answer.status_code == 201, answer.text
    held = await gateway.post(
        f"/v1/conversations/{conversation}/messages", json={"content": "Thanks!"}, headers=acme.headers
    )
    assert held.json()["reply"] is None  # an agent has it: stored, not sent to the model
    assert (await gateway.post(f"/v1/agent/conversations/{conversation}/resolve", headers=agent)).json()[
        "status"
    ] == "resolved"

    closed = await gateway.post(
        f"/v1/conversations/{conversation}/messages", json={"content": "hi"}, headers=acme.headers
    )
    assert closed.status_code == 409
    assert closed.json()["request_id"] == closed.headers["x-request-id"]


ENDPOINTS = [
    ("GET", "/v1/conversations/{c}", None),
    ("GET", "/v1/conversations/{c}/messages", None),
    ("POST", "/v1/conversations/{c}/messages", {"content": "hello"}),
    ("POST", "/v1/conversations/{c}/close", None),
    ("POST", "/v1/conversations/{c}/handoff", {}),
    ("POST", "/v1/conversations/{c}/messages/{m}/feedback", {"rating": "down"}),
    ("GET", "/v1/agent/conversations/{c}/messages", None),
    ("POST", "/v1/agent/conversations/{c}/claim", None),
    ("POST", "/v1/agent/conversations/{c}/messages", {"content": "hi"}),
    ("POST", "/v1/agent/conversations/{c}/resolve", None),
]


async def test_no_endpoint_lets_one_tenant_see_or_touch_another_tenants_conversation(
    gateway: httpx.AsyncClient, acme: Tenant, globex: Tenant
) -> None:
    conversation = (await gateway.post("/v1/conversations", json={}, headers=acme.headers)).json()["id"]
    events = await stream_turn(gateway, acme.headers, conversation, "hello")
    message = events[-1][1]["message"]["id"]
    globex_agent = await agent_headers(gateway, globex, "spy@globex.test")

    for method, template, body in ENDPOINTS:
        path = template.format(c=conversation, m=message)
        headers = globex_agent if template.startswith("/v1/agent/") else globex.headers
        response = await gateway.request(method, path, json=body, headers=headers)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/not-found"
    for status in ("bot", "waiting_human", "with_agent", "resolved", "closed"):
        listed = await gateway.get("/v1/agent/conversations", params={"status": status}, headers=globex_agent)
        assert conversation not in [item["id"] for item in listed.json()["items"]]
    untouched = await gateway.get(f"/v1/conversations/{conversation}/messages", headers=acme.headers)
    assert len(untouched.json()["items"]) == 2  # nothing was added, closed or claimed by the other tenant
    assert (await gateway.get(f"/v1/conversations/{conversation}", headers=acme.headers)).json()["status"] == "bot"


async def test_a_tenants_assistant_profile_is_its_own(gateway: httpx.AsyncClient, acme: Tenant, globex: Tenant) -> None:
    profile = {
        "system_prompt": "You are Acme's assistant.",
        "model": "helpline-chat",
        "temperature": 0.2,
        "max_tokens": 256,
    }

    assert (await gateway.put("/v1/assistant-profile", json=profile, headers=acme.headers)).status_code == 200

    assert (await gateway.get("/v1/assistant-profile", headers=acme.headers)).json()["system_prompt"] == profile[
        "system_prompt"
    ]
    other = await gateway.get("/v1/assistant-profile", headers=globex.headers)
    assert other.status_code == 200
    assert other.json()["system_prompt"] != profile["system_prompt"]  # the default profile, not Acme's


async def test_an_end_user_sees_only_their_own_conversations(gateway: httpx.AsyncClient, acme: Tenant) -> None:
    async def widget(end_user: str) -> dict[str, str]:
        token = await gateway.post("/v1/widget-tokens", json={"end_user_id": end_user}, headers=acme.headers)
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    alice, bob = await asyncio.gather(widget("alice"), widget("bob"))
    conversation = (await gateway.post("/v1/conversations", json={}, headers=alice)).json()
    assert conversation["customer_ref"] == "alice"

    assert (await gateway.get(f"/v1/conversations/{conversation['id']}", headers=alice)).status_code == 200
    assert (await gateway.get(f"/v1/conversations/{conversation['id']}", headers=bob)).status_code == 404
    assert (await gateway.get(f"/v1/conversations/{conversation['id']}", headers=acme.headers)).status_code == 200


async def test_the_api_matches_its_openapi_and_never_answers_5xx(
    gateway_app: RunningService, gateway: httpx.AsyncClient, auth_service: RunningService
) -> None:
    admin = await provision(auth_service, "fuzz", Tier.ENTERPRISE)
    document = (await gateway.get("/openapi.json")).json()

    failures = await asyncio.to_thread(run_schemathesis, document, gateway_app.base_url, admin.headers)

    assert failures == [], "\n\n".join(failures)
