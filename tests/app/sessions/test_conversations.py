"""Customer routes: create, read, page through messages, close, request a human, rate answers."""

from __future__ import annotations

from uuid import UUID, uuid4

from app.core.metrics import REGISTRY
from tests.app.sessions.conftest import Callers


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_create_and_read_a_conversation(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    before = counter("helpline_conversation_transitions_total", to_status="bot")
    created = await customer.conversation(customer_ref="crm-42", metadata={"plan": "gold"})
    assert created["status"] == "bot"
    assert created["customer_ref"] == "crm-42"
    assert created["metadata"] == {"plan": "gold"}
    assert created["assigned_agent_id"] is None
    fetched = await customer.get(f"/conversations/{created['id']}")
    assert fetched.json() == created
    assert counter("helpline_conversation_transitions_total", to_status="bot") == before + 1


async def test_widget_users_own_their_conversations(callers: Callers, tenant: UUID) -> None:
    alice = callers.end_user(tenant, "alice")
    created = await alice.conversation(customer_ref="someone-else")  # the token's subject wins
    assert created["customer_ref"] == "alice"
    assert (await callers.end_user(tenant, "bob").get(f"/conversations/{created['id']}")).status_code == 404
    assert (await alice.get(f"/conversations/{created['id']}")).status_code == 200
    # The tenant's own integration (an API key) sees every conversation of the tenant.
    assert (await callers.api_key(tenant).get(f"/conversations/{created['id']}")).status_code == 200


async def test_unknown_conversation_is_a_404_problem(callers: Callers, tenant: UUID) -> None:
    response = await callers.api_key(tenant).get(f"/conversations/{uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/not-found"
    assert response.json()["request_id"]


async def test_bad_input_is_refused(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    assert (await customer.post("/conversations", {"customer_ref": "has spaces"})).status_code == 422
    assert (await customer.post("/conversations", {"unknown": 1})).status_code == 422
    assert (await customer.get("/conversations/not-a-uuid")).status_code == 422
    conversation = await customer.conversation()
    page = await customer.get(f"/conversations/{conversation['id']}/messages", params={"cursor": "%%%"})
    assert page.status_code == 400
    assert (await customer.get(f"/conversations/{conversation['id']}/messages", params={"limit": 0})).status_code == 422


async def test_messages_page_oldest_first_with_a_cursor(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    for _ in range(3):
        await customer.answer(conversation["id"])  # customer message + answer each
    seen: list[dict] = []
    cursor = None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = (await customer.get(f"/conversations/{conversation['id']}/messages", params=params)).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [m["role"] for m in seen] == ["customer", "assistant"] * 3
    assert [m["id"] for m in seen] == sorted(m["id"] for m in seen)
    assert len({m["id"] for m in seen}) == 6


async def test_close_is_final_and_repeatable(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    closed = await customer.post(f"/conversations/{conversation['id']}/close")
    assert closed.json()["status"] == "closed"
    assert (await customer.post(f"/conversations/{conversation['id']}/close")).json()["status"] == "closed"
    refused = await customer.post(f"/conversations/{conversation['id']}/turns", {"content": "hello?"})
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/conversation-closed"
    messages = (await customer.get(f"/conversations/{conversation['id']}/messages")).json()["items"]
    assert messages == []  # the refused message left no row
    handoff = await customer.post(f"/conversations/{conversation['id']}/handoff", {})
    assert handoff.status_code == 409


async def test_requesting_a_human(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    before = counter("helpline_handoffs_total", reason="customer_request")
    response = await customer.post(f"/conversations/{conversation['id']}/handoff", {"reason": "billing question"})
    assert response.json()["status"] == "waiting_human"
    again = await customer.post(f"/conversations/{conversation['id']}/handoff", {})
    assert again.json()["status"] == "waiting_human"
    assert counter("helpline_handoffs_total", reason="customer_request") == before + 1
    messages = (await customer.get(f"/conversations/{conversation['id']}/messages")).json()["items"]
    assert [m["role"] for m in messages] == ["system"]


async def test_feedback_on_answers_only_and_replaced_on_resubmit(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    answer = await customer.answer(conversation["id"])
    path = f"/conversations/{conversation['id']}/messages/{answer['id']}/feedback"
    before = counter("helpline_feedback_total", rating="down")
    first = await customer.post(path, {"rating": "up", "comment": "quick"})
    assert first.status_code == 201
    assert first.json()["rating"] == "up"
    second = await customer.post(path, {"rating": "down"})
    assert second.status_code == 200
    assert second.json() == {**second.json(), "rating": "down", "comment": None, "message_id": answer["id"]}
    assert counter("helpline_feedback_total", rating="down") == before + 1

    messages = (await customer.get(f"/conversations/{conversation['id']}/messages")).json()["items"]
    customer_message = next(m for m in messages if m["role"] == "customer")
    refused = await customer.post(
        f"/conversations/{conversation['id']}/messages/{customer_message['id']}/feedback", {"rating": "up"}
    )
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/feedback-not-allowed"
    unknown = await customer.post(f"/conversations/{conversation['id']}/messages/{uuid4()}/feedback", {"rating": "up"})
    assert unknown.status_code == 404
    assert (await customer.post(path, {"rating": "meh"})).status_code == 422


async def test_a_finished_conversation_is_rated_once_and_rerating_replaces_it(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    path = f"/conversations/{conversation['id']}/csat"
    early = await customer.post(path, {"score": 5})
    assert early.status_code == 409  # only once it is resolved or closed
    assert early.json()["type"] == "/problems/feedback-not-allowed"
    await customer.post(f"/conversations/{conversation['id']}/close")
    first = await customer.post(path, {"score": 4, "comment": "Fast and friendly."})
    assert first.status_code == 201, first.text
    assert first.json() == {
        **first.json(),
        "score": 4,
        "comment": "Fast and friendly.",
        "conversation_id": conversation["id"],
    }
    second = await customer.post(path, {"score": 2})
    assert second.status_code == 200
    assert second.json()["score"] == 2
    assert second.json()["comment"] is None
    for bad in ({"score": 0}, {"score": 6}, {"score": "five"}):
        assert (await customer.post(path, bad)).status_code == 422
    assert (await customer.post(f"/conversations/{uuid4()}/csat", {"score": 3})).status_code == 404


async def test_identity_is_required_and_scopes_are_checked(callers: Callers, tenant: UUID) -> None:
    anonymous = await callers.http.post("/internal/v1/conversations", json={})
    assert anonymous.status_code == 401
    forged = await callers.http.post("/internal/v1/conversations", json={}, headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code == 401
    expired = callers.identities.token(callers.identities.claims(tenant), ttl_seconds=-60)
    late = await callers.http.post(
        "/internal/v1/conversations", json={}, headers={"Authorization": f"Bearer {expired}"}
    )
    assert late.status_code == 401
    assert "expired" in late.json()["detail"]
    reader = callers.as_(tenant, scopes=[], principal="api_key")
    refused = await reader.post("/conversations", {})
    assert refused.status_code == 403
    assert refused.json()["required_scopes"] == ["conversations:write"]


async def test_listing_shows_each_caller_its_own_conversations_newest_first(callers: Callers, tenant: UUID) -> None:
    alice, bob, key = callers.end_user(tenant, "alice"), callers.end_user(tenant, "bob"), callers.api_key(tenant)
    alices = [(await alice.conversation())["id"] for _ in range(3)]
    bobs = (await bob.conversation())["id"]
    await callers.api_key(uuid4()).conversation()  # another tenant's: never listed

    first = (await alice.get("/conversations", params={"limit": 2})).json()
    second = (await alice.get("/conversations", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [item["id"] for item in first["items"] + second["items"]] == alices[::-1]
    assert second["next_cursor"] is None
    assert [item["id"] for item in (await key.get("/conversations")).json()["items"]] == [bobs, *alices[::-1]]
    await alice.post(f"/conversations/{alices[0]}/close")
    closed = (await alice.get("/conversations", params={"status": "closed"})).json()["items"]
    assert [item["id"] for item in closed] == [alices[0]]


async def test_an_answer_is_timestamped_when_it_is_complete_and_moves_the_conversation(
    callers: Callers, tenant: UUID
) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    await customer.answer(conversation["id"])
    question, answer = (await customer.get(f"/conversations/{conversation['id']}/messages")).json()["items"]
    assert answer["created_at"] > question["created_at"]
    after = (await customer.get(f"/conversations/{conversation['id']}")).json()
    assert after["updated_at"] == answer["created_at"]


async def test_a_customers_rating_is_in_their_data_export(callers: Callers, tenant: UUID) -> None:
    visitor = callers.end_user(tenant, "visitor-csat")
    conversation = await visitor.conversation()
    await visitor.post(f"/conversations/{conversation['id']}/close")
    rated = await visitor.post(f"/conversations/{conversation['id']}/csat", {"score": 5, "comment": "Lovely."})
    assert rated.status_code == 201, rated.text
    exported = await callers.as_(tenant).get("/data-subjects/visitor-csat")
    assert exported.status_code == 200, exported.text
    record = exported.json()["conversations"][0]
    assert record["csat"] == {**record["csat"], "score": 5, "comment": "Lovely."}
    assert "csat.submitted" in {event["type"] for event in exported.json()["events"]}
