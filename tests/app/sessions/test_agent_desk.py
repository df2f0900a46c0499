"""The agent desk: the waiting queue, claiming, replying and resolving, with its conflicts."""

from __future__ import annotations

from uuid import UUID, uuid4

from app.contracts.api import Role, Scope
from tests.app.sessions.conftest import Callers


async def waiting_conversation(callers: Callers, tenant: UUID) -> str:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    await customer.post(f"/conversations/{conversation['id']}/handoff", {})
    return conversation["id"]


async def test_the_queue_lists_waiting_conversations_longest_waiting_first(callers: Callers, tenant: UUID) -> None:
    waiting = [await waiting_conversation(callers, tenant) for _ in range(3)]
    await callers.api_key(tenant).conversation()  # a bot conversation is not in the queue
    agent = callers.agent(tenant)
    first = (await agent.get("/agent/conversations", params={"limit": 2})).json()
    second = (await agent.get("/agent/conversations", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [c["id"] for c in first["items"] + second["items"]] == waiting
    assert second["next_cursor"] is None
    bots = (await agent.get("/agent/conversations", params={"status": "bot"})).json()
    assert len(bots["items"]) == 1
    assert (await agent.get("/agent/conversations", params={"cursor": "short"})).status_code == 400
    assert (await agent.get("/agent/conversations", params={"status": "nope"})).status_code == 422


async def test_claim_reply_resolve(callers: Callers, tenant: UUID) -> None:
    conversation_id = await waiting_conversation(callers, tenant)
    agent_id = uuid4()
    agent = callers.agent(tenant, agent_id)
    claimed = (await agent.post(f"/agent/conversations/{conversation_id}/claim")).json()
    assert claimed["status"] == "with_agent"
    assert claimed["assigned_agent_id"] == str(agent_id)
    assert (await agent.post(f"/agent/conversations/{conversation_id}/claim")).status_code == 200  # repeatable

    customer = callers.api_key(tenant)
    stored = await customer.turn(conversation_id, "Thanks for taking this")
    assert stored["mode"] == "human"

    reply = await agent.post(f"/agent/conversations/{conversation_id}/messages", {"content": "Happy to help."})
    assert reply.status_code == 201
    assert reply.json()["role"] == "agent"

    resolved = (await agent.post(f"/agent/conversations/{conversation_id}/resolve")).json()
    assert resolved["status"] == "resolved"
    transcript = (await agent.get(f"/agent/conversations/{conversation_id}/messages")).json()["items"]
    assert [m["role"] for m in transcript] == ["system", "system", "customer", "agent", "system"]
    closed = await customer.post(f"/conversations/{conversation_id}/turns", {"content": "one more thing"})
    assert closed.status_code == 409
    assert (await customer.post(f"/conversations/{conversation_id}/close")).status_code == 409


async def test_another_agent_cannot_take_over(callers: Callers, tenant: UUID) -> None:
    conversation_id = await waiting_conversation(callers, tenant)
    owner, other = callers.agent(tenant), callers.agent(tenant)
    await owner.post(f"/agent/conversations/{conversation_id}/claim")
    conflict = await other.post(f"/agent/conversations/{conversation_id}/claim")
    assert conflict.status_code == 409
    assert conflict.json()["type"] == "/problems/already-claimed"
    assert (await other.post(f"/agent/conversations/{conversation_id}/messages", {"content": "hi"})).status_code == 409
    assert (await other.post(f"/agent/conversations/{conversation_id}/resolve")).status_code == 409
    admin = callers.as_(tenant, role=Role.ADMIN, scopes=[Scope.AGENT], principal="user", subject=str(uuid4()))
    assert (
        await admin.post(f"/agent/conversations/{conversation_id}/messages", {"content": "Admin here"})
    ).status_code == 201


async def test_state_conflicts(callers: Callers, tenant: UUID) -> None:
    bot = await callers.api_key(tenant).conversation()
    agent = callers.agent(tenant)
    claim = await agent.post(f"/agent/conversations/{bot['id']}/claim")
    assert claim.status_code == 409
    assert claim.json()["type"] == "/problems/conversation-state-conflict"
    assert claim.json()["conversation_status"] == "bot"
    assert (await agent.post(f"/agent/conversations/{bot['id']}/messages", {"content": "hi"})).status_code == 409
    assert (await agent.post(f"/agent/conversations/{bot['id']}/resolve")).status_code == 409
    waiting = await waiting_conversation(callers, tenant)
    # Replying needs a claim first; a waiting conversation may be resolved directly (spam, duplicates).
    assert (await agent.post(f"/agent/conversations/{waiting}/messages", {"content": "hi"})).status_code == 409
    assert (await agent.post(f"/agent/conversations/{waiting}/resolve")).json()["status"] == "resolved"


async def test_customers_cannot_use_the_agent_desk(callers: Callers, tenant: UUID) -> None:
    conversation_id = await waiting_conversation(callers, tenant)
    response = await callers.api_key(tenant).post(f"/agent/conversations/{conversation_id}/claim")
    assert response.status_code == 403
    widget_agent = callers.as_(tenant, scopes=[Scope.AGENT], principal="end_user", subject="not-a-uuid")
    assert (await widget_agent.post(f"/agent/conversations/{conversation_id}/claim")).status_code == 403


async def test_an_api_key_with_the_agent_scope_is_not_an_agent(callers: Callers, tenant: UUID) -> None:
    """Defence behind the gateway: a key's identity token is refused at the desk even if it names the scope."""
    conversation_id = await waiting_conversation(callers, tenant)
    key_agent = callers.as_(
        tenant, role=Role.AGENT, scopes=[Scope.AGENT, Scope.CONVERSATIONS_READ], subject=str(uuid4())
    )
    for call in (
        key_agent.get("/agent/conversations"),
        key_agent.post(f"/agent/conversations/{conversation_id}/claim"),
    ):
        response = await call
        assert response.status_code == 403
        assert response.json()["type"] == "/problems/credential-kind-not-allowed"


async def test_mine_lists_only_the_callers_conversations(callers: Callers, tenant: UUID) -> None:
    mine, theirs = await waiting_conversation(callers, tenant), await waiting_conversation(callers, tenant)
    me, colleague = callers.agent(tenant), callers.agent(tenant)
    await me.post(f"/agent/conversations/{mine}/claim")
    await colleague.post(f"/agent/conversations/{theirs}/claim")
    listed = (await me.get("/agent/conversations", params={"status": "with_agent", "mine": "true"})).json()
    assert [c["id"] for c in listed["items"]] == [mine]
    everyone = (await me.get("/agent/conversations", params={"status": "with_agent"})).json()
    assert {c["id"] for c in everyone["items"]} == {mine, theirs}


async def test_handing_back_returns_the_conversation_to_the_assistant(callers: Callers, tenant: UUID) -> None:
    conversation_id = await waiting_conversation(callers, tenant)
    agent, other = callers.agent(tenant), callers.agent(tenant)
    await agent.post(f"/agent/conversations/{conversation_id}/claim")
    refused = await other.post(f"/agent/conversations/{conversation_id}/hand-back")
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/already-claimed"

    handed = (await agent.post(f"/agent/conversations/{conversation_id}/hand-back")).json()
    assert handed["status"] == "bot"
    assert handed["assigned_agent_id"] is None
    assert (await agent.post(f"/agent/conversations/{conversation_id}/hand-back")).status_code == 200  # repeatable
    transcript = (await agent.get(f"/agent/conversations/{conversation_id}/messages")).json()["items"]
    assert transcript[-1]["role"] == "system"
    assert "assistant is back" in transcript[-1]["content"]
    turn = await callers.api_key(tenant).turn(conversation_id, "One more question")
    assert turn["mode"] == "bot"  # the assistant answers again

    # a waiting conversation can be handed back too (nobody needed); a resolved one cannot
    waiting = await waiting_conversation(callers, tenant)
    assert (await other.post(f"/agent/conversations/{waiting}/hand-back")).json()["status"] == "bot"
    await agent.post(f"/agent/conversations/{conversation_id}/claim")  # it is in bot status: a state conflict
    resolved = await waiting_conversation(callers, tenant)
    await agent.post(f"/agent/conversations/{resolved}/resolve")
    assert (await agent.post(f"/agent/conversations/{resolved}/hand-back")).status_code == 409
