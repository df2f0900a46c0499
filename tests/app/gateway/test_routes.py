"""Every public route reaches its service with the caller's identity, and answers come back unchanged."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest

from tests.app.gateway.conftest import RunningService, Tenant, agent_headers
from tests.app.gateway.stand_ins import StandInState


async def new_conversation(gateway: httpx.AsyncClient, tenant: Tenant) -> str:
    response = await gateway.post("/v1/conversations", json={"customer_ref": "c-1"}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_customer_routes_are_forwarded_with_path_query_and_body(
    gateway: httpx.AsyncClient, acme: Tenant, stand_in_state: StandInState
) -> None:
    conversation = await new_conversation(gateway, acme)
    turn = await gateway.post(
        f"/v1/conversations/{conversation}/messages", json={"content": "  hello  "}, headers=acme.headers
    )
    assert turn.status_code == 200, turn.text
    reply_id = turn.json()["reply"]["id"]

    calls = [
        ("GET", f"/v1/conversations/{conversation}", None, 200),
        ("GET", f"/v1/conversations/{conversation}/messages?limit=5&cursor=abc", None, 200),
        ("POST", f"/v1/conversations/{conversation}/handoff", {"reason": "wants a human"}, 200),
        ("POST", f"/v1/conversations/{conversation}/messages/{reply_id}/feedback", {"rating": "up"}, 201),
        ("POST", f"/v1/conversations/{conversation}/close", None, 200),
    ]
    for method, path, body, status in calls:
        response = await gateway.request(method, path, json=body, headers=acme.headers)
        assert response.status_code == status, (path, response.text)
        received = stand_in_state.received[-1]
        assert received.method == method
        assert received.path == "/internal" + path.split("?")[0]
        expected = {"comment": None, **body} if body and "rating" in body else body  # normalised: defaults filled
        assert received.body == expected
        assert received.headers["x-request-id"] == response.headers["x-request-id"]
    assert stand_in_state.received[-4].query == {"limit": "5", "cursor": "abc"}
    assert stand_in_state.received[1].body == {"content": "hello"}  # validated and normalised at the edge


async def test_agent_and_admin_routes_are_forwarded(
    gateway: httpx.AsyncClient, acme: Tenant, stand_in_state: StandInState
) -> None:
    conversation = await new_conversation(gateway, acme)
    await gateway.post(f"/v1/conversations/{conversation}/handoff", json={}, headers=acme.headers)
    agent = await agent_headers(gateway, acme, "dana@acme.test")

    queue = await gateway.get("/v1/agent/conversations", headers=agent)
    assert [item["id"] for item in queue.json()["items"]] == [conversation]
    assert stand_in_state.received[-1].query == {"status": "waiting_human", "limit": "50"}
    for method, path, body, status in [
        ("POST", f"/v1/agent/conversations/{conversation}/claim", None, 200),
        ("POST", f"/v1/agent/conversations/{conversation}/messages", {"content": "Hi, Ana here."}, 201),
        ("GET", f"/v1/agent/conversations/{conversation}/messages", None, 200),
        ("POST", f"/v1/agent/conversations/{conversation}/resolve", None, 200),
        (
            "PUT",
            "/v1/assistant-profile",
            {"system_prompt": "Be brief.", "model": "m", "temperature": 0, "max_tokens": 9},
            200,
        ),
        ("GET", "/v1/assistant-profile", None, 200),
    ]:
        headers = agent if path.startswith("/v1/agent/") else acme.headers  # the desk is for people only
        response = await gateway.request(method, path, json=body, headers=headers)
        assert response.status_code == status, (path, response.text)
        assert stand_in_state.received[-1].path == "/internal" + path
    assert (await gateway.get("/v1/assistant-profile", headers=acme.headers)).json()["system_prompt"] == "Be brief."


async def test_a_downstream_problem_reaches_the_client_with_the_gateway_request_id(
    gateway: httpx.AsyncClient, acme: Tenant, globex: Tenant
) -> None:
    conversation = await new_conversation(gateway, acme)

    for path in (f"/v1/conversations/{uuid4()}", f"/v1/conversations/{conversation}"):
        response = await gateway.get(path, headers=globex.headers)  # unknown id, then another tenant's
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "No such conversation."
        assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_the_edge_ignores_a_request_id_chosen_by_the_client(
    gateway: httpx.AsyncClient, acme: Tenant, stand_in_state: StandInState
) -> None:
    response = await gateway.post(
        "/v1/conversations", json={}, headers={**acme.headers, "X-Request-Id": "client-chosen-0001"}
    )

    assert response.headers["x-request-id"] != "client-chosen-0001"
    assert stand_in_state.received[-1].headers["x-request-id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    "case",
    [
        (b'{"content": ', 400, "/problems/invalid-json"),
        (b'{"content": ""}', 422, "/problems/validation-error"),
        (b'{"content": "' + b"x" * 4001 + b'"}', 422, "/problems/validation-error"),
        (b'{"content": "hi", "extra": 1}', 422, "/problems/validation-error"),
    ],
    ids=["invalid-json", "empty", "too-many-characters", "unknown-field"],
)
async def test_bad_input_is_refused_at_the_edge(
    gateway: httpx.AsyncClient, acme: Tenant, stand_in_state: StandInState, case: tuple[bytes, int, str]
) -> None:
    body, status, type_ = case
    conversation = await new_conversation(gateway, acme)
    before = len(stand_in_state.received)

    response = await gateway.post(
        f"/v1/conversations/{conversation}/messages",
        content=body,
        headers={**acme.headers, "content-type": "application/json"},
    )

    assert response.status_code == status, response.text
    assert response.json()["type"] == type_
    assert len(stand_in_state.received) == before  # nothing reached the services


async def test_oversized_bodies_are_refused_before_being_read(gateway: httpx.AsyncClient, acme: Tenant) -> None:
    huge = b'{"content": "' + b"x" * 300_000 + b'"}'

    declared = await gateway.post(
        "/v1/conversations", content=huge, headers={**acme.headers, "content-type": "application/json"}
    )

    async def chunked():  # no Content-Length: counted as it arrives
        for start in range(0, len(huge), 65536):
            yield huge[start : start + 65536]

    streamed = await gateway.post(
        "/v1/conversations", content=chunked(), headers={**acme.headers, "content-type": "application/json"}
    )
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["type"] == "/problems/payload-too-large"
        assert response.json()["max_bytes"] == 262144
        assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_an_unreachable_service_is_a_503_problem(
    gateway_app: RunningService, gateway: httpx.AsyncClient, acme: Tenant
) -> None:
    gateway_app.app.state.gateway.sessions.http.base_url = httpx.URL("http://127.0.0.1:1")

    response = await gateway.post("/v1/conversations", json={}, headers=acme.headers)

    assert response.status_code == 503
    assert response.json()["type"] == "/problems/dependency-unavailable"
    assert response.json()["detail"] == "The sessions service cannot be reached."


async def test_problem_types_are_documented(gateway: httpx.AsyncClient) -> None:
    documented = await gateway.get("/problems/quota-exceeded")
    unknown = await gateway.get("/problems/no-such-thing")

    assert documented.json()["status"] == 429
    assert documented.json()["type"] == "/problems/quota-exceeded"
    assert "00:00 UTC" in documented.json()["description"]
    assert unknown.status_code == 404


async def test_ready_only_when_every_dependency_answers(
    gateway_app: RunningService, gateway: httpx.AsyncClient
) -> None:
    ready = await gateway.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"store": "ok", "auth": "ok", "sessions": "ok", "chat": "ok"}

    gateway_app.app.state.gateway.chat.http.base_url = httpx.URL("http://127.0.0.1:1")
    not_ready = await gateway.get("/readyz")

    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["chat"] == "failed: DependencyUnavailableError"
