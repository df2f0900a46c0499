"""No endpoint lets one tenant (or one widget user) see or touch another's conversations: all are 404."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

import httpx
import pytest

from tests.app.sessions.conftest import Caller, Callers

Ids = dict[str, str]
Call = Callable[[Caller, Ids], Awaitable[httpx.Response]]

CUSTOMER_ENDPOINTS: dict[str, Call] = {
    "get": lambda c, ids: c.get(f"/conversations/{ids['conversation']}"),
    "messages": lambda c, ids: c.get(f"/conversations/{ids['conversation']}/messages"),
    "close": lambda c, ids: c.post(f"/conversations/{ids['conversation']}/close"),
    "handoff": lambda c, ids: c.post(f"/conversations/{ids['conversation']}/handoff", {}),
    "feedback": lambda c, ids: c.post(
        f"/conversations/{ids['conversation']}/messages/{ids['answer']}/feedback", {"rating": "up"}
    ),
    "turns": lambda c, ids: c.post(f"/conversations/{ids['conversation']}/turns", {"content": "hi"}),
    "finish": lambda c, ids: c.post(
        f"/conversations/{ids['conversation']}/messages/{ids['answer']}:finish", {"content": "x", "status": "complete"}
    ),
    "escalate": lambda c, ids: c.post(f"/conversations/{ids['conversation']}:escalate", {"reason": "human_request"}),
}
AGENT_ENDPOINTS: dict[str, Call] = {
    "agent-messages": lambda c, ids: c.get(f"/agent/conversations/{ids['conversation']}/messages"),
    "claim": lambda c, ids: c.post(f"/agent/conversations/{ids['conversation']}/claim"),
    "reply": lambda c, ids: c.post(f"/agent/conversations/{ids['conversation']}/messages", {"content": "hi"}),
    "resolve": lambda c, ids: c.post(f"/agent/conversations/{ids['conversation']}/resolve"),
}


async def owned_conversation(owner: Caller) -> Ids:
    conversation = await owner.conversation()
    answer = await owner.answer(conversation["id"])
    return {"conversation": conversation["id"], "answer": answer["id"]}


async def assert_untouched(owner: Caller, ids: Ids, before: httpx.Response) -> None:
    after = await owner.get(f"/conversations/{ids['conversation']}/messages")
    assert after.json() == before.json()
    assert (await owner.get(f"/conversations/{ids['conversation']}")).json()["status"] == "bot"


@pytest.mark.parametrize("endpoint", CUSTOMER_ENDPOINTS)
async def test_another_tenant_gets_404(callers: Callers, tenant: UUID, endpoint: str) -> None:
    owner = callers.api_key(tenant)
    ids = await owned_conversation(owner)
    before = await owner.get(f"/conversations/{ids['conversation']}/messages")
    response = await CUSTOMER_ENDPOINTS[endpoint](callers.api_key(uuid4()), ids)
    assert response.status_code == 404, response.text
    await assert_untouched(owner, ids, before)


@pytest.mark.parametrize("endpoint", CUSTOMER_ENDPOINTS)
async def test_another_widget_user_gets_404(callers: Callers, tenant: UUID, endpoint: str) -> None:
    owner = callers.end_user(tenant, "alice")
    ids = await owned_conversation(owner)
    before = await owner.get(f"/conversations/{ids['conversation']}/messages")
    response = await CUSTOMER_ENDPOINTS[endpoint](callers.end_user(tenant, "mallory"), ids)
    assert response.status_code == 404, response.text
    await assert_untouched(owner, ids, before)


@pytest.mark.parametrize("endpoint", AGENT_ENDPOINTS)
async def test_another_tenants_agent_gets_404(callers: Callers, tenant: UUID, endpoint: str) -> None:
    owner = callers.api_key(tenant)
    ids = await owned_conversation(owner)
    await owner.post(f"/conversations/{ids['conversation']}/handoff", {})
    response = await AGENT_ENDPOINTS[endpoint](callers.agent(uuid4()), ids)
    assert response.status_code == 404, response.text
    assert (await owner.get(f"/conversations/{ids['conversation']}")).json()["status"] == "waiting_human"


async def test_the_queue_shows_only_the_own_tenant(callers: Callers, tenant: UUID) -> None:
    owner = callers.api_key(tenant)
    conversation = await owner.conversation()
    await owner.post(f"/conversations/{conversation['id']}/handoff", {})
    assert (await callers.agent(uuid4()).get("/agent/conversations")).json()["items"] == []
    assert len((await callers.agent(tenant).get("/agent/conversations")).json()["items"]) == 1
