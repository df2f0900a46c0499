"""Lifecycle events end to end on real parts: sessions writes them to its outbox with each change, the relay
publishes them to NATS JetStream, the dispatcher POSTs them, signed, to a real HTTP receiver, retrying with
backoff and keeping dead letters an admin can replay."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import nats
import orjson
from sqlalchemy import func, select, update

from app.events.signing import SIGNATURE_HEADER, verify
from app.sessions.models import OutboxEvent
from tests.app.events.conftest import MAX_ATTEMPTS, NATS_URL, Names, Receiver, Tenant, runtime_of
from tests.app.harness import RunningServer, eventually


async def register(tenant: Tenant, receiver: Receiver, *types: str) -> dict[str, Any]:
    body = {"url": receiver.url, "event_types": list(types)}
    return await tenant.call("admin", "POST", "/webhooks", json=body, expect=201)


async def to_resolution(tenant: Tenant) -> str:
    """A conversation that reaches a person and is resolved: created, escalated, claimed, an agent reply, resolved."""
    conversation = (await tenant.call("key", "POST", "/conversations", json={}, expect=201))["id"]
    await tenant.call("key", "POST", f"/conversations/{conversation}/handoff", json={"reason": "refund"})
    await tenant.call("agent", "POST", f"/agent/conversations/{conversation}/claim")
    reply = {"content": "Your refund is on its way."}
    await tenant.call("agent", "POST", f"/agent/conversations/{conversation}/messages", json=reply, expect=201)
    await tenant.call("agent", "POST", f"/agent/conversations/{conversation}/resolve")
    return conversation


def events_of(receiver: Receiver) -> list[dict[str, Any]]:
    return [orjson.loads(request.body) for request in receiver.received]


async def test_a_resolution_reaches_the_webhook_signed_within_two_seconds(acme: Tenant, receiver: Receiver) -> None:
    hook = await register(acme, receiver)
    conversation = await to_resolution(acme)
    resolved_at = time.monotonic()
    await eventually(
        lambda: _async(events_of(receiver)), lambda seen: any(e["type"] == "conversation.resolved" for e in seen), 2.0
    )
    assert time.monotonic() - resolved_at < 2.0
    events = events_of(receiver)
    assert [event["type"] for event in events] == [
        "conversation.created",
        "conversation.escalated",
        "conversation.claimed",
        "message.created",
        "conversation.resolved",
    ]
    assert {event["conversation_id"] for event in events} == {conversation}
    assert events[1]["data"]["reason"] == "customer_request"
    assert events[3]["data"]["message"]["role"] == "agent"
    assert events[-1]["data"]["conversation"]["status"] == "resolved"
    for request in receiver.received:
        verify(hook["secret"], request.headers[SIGNATURE_HEADER.lower()], request.body)
        assert request.headers["helpline-event-id"] == orjson.loads(request.body)["id"]


async def test_a_failing_receiver_gets_the_event_after_it_recovers_exactly_once(
    acme: Tenant, receiver: Receiver
) -> None:
    hook = await register(acme, receiver, "conversation.created")
    receiver.failures_left = 3
    await acme.call("key", "POST", "/conversations", json={}, expect=201)
    await eventually(lambda: _async(receiver.received), lambda seen: len(seen) == 1, 5.0)
    assert receiver.refused == 3
    log = await acme.call("admin", "GET", f"/webhooks/{hook['id']}/deliveries")
    assert [(item["status"], item["attempts"]) for item in log["items"]] == [("delivered", 4)]
    await _settle()
    assert len(receiver.received) == 1  # delivered once, never again


async def test_dead_letters_are_listed_and_replayed_with_the_same_event_id(acme: Tenant, receiver: Receiver) -> None:
    hook = await register(acme, receiver, "conversation.created")
    receiver.failures_left = MAX_ATTEMPTS
    await acme.call("key", "POST", "/conversations", json={}, expect=201)
    path = f"/webhooks/{hook['id']}/deliveries"
    dead = await eventually(
        lambda: acme.call("admin", "GET", path, params={"status": "dead"}), lambda page: len(page["items"]) == 1, 5.0
    )
    letter = dead["items"][0]
    assert (letter["attempts"], letter["last_status_code"]) == (MAX_ATTEMPTS, 503)
    assert receiver.received == []
    replayed = await acme.call("admin", "POST", f"/webhook-deliveries/{letter['id']}/replay")
    assert replayed["status"] == "pending"
    await eventually(lambda: _async(receiver.received), lambda seen: len(seen) == 1, 3.0)
    assert orjson.loads(receiver.received[0].body)["id"] == letter["event_id"]


async def test_webhooks_see_only_their_tenant_and_admin_routes_need_an_admin(
    acme: Tenant, receiver: Receiver, events_server: RunningServer
) -> None:
    await register(acme, receiver, "conversation.created")
    other = Tenant(acme.http, acme.identities)
    await other.call("key", "POST", "/conversations", json={}, expect=201)
    await acme.call("key", "POST", "/conversations", json={}, expect=201)
    await eventually(lambda: _async(receiver.received), lambda seen: len(seen) == 1, 3.0)
    await _settle()
    assert {event["tenant_id"] for event in events_of(receiver)} == {str(acme.tenant_id)}
    await acme.call("key", "GET", "/webhooks", expect=403)
    await acme.call("agent", "GET", "/webhooks", expect=403)
    await acme.call("admin", "POST", "/webhooks", json={"url": "not a url"}, expect=422)


async def test_an_event_published_twice_after_a_relay_crash_is_stored_once(
    acme: Tenant, events_server: RunningServer, names: Names
) -> None:
    """The relay died after JetStream stored the event but before ``published_at`` was committed: the next relay
    publishes it again with the same Nats-Msg-Id, and the stream keeps one copy."""
    connection = await nats.connect(NATS_URL)
    try:
        stream = connection.jetstream()
        await acme.call("key", "POST", "/conversations", json={}, expect=201)
        info = await eventually(lambda: stream.stream_info(names.stream), lambda info: info.state.messages >= 1, 3.0)
        stored = info.state.messages
        runtime = runtime_of(events_server)
        async with runtime.database.transaction() as session:  # forget that everything was published
            await session.execute(
                update(OutboxEvent).where(OutboxEvent.tenant_id == acme.tenant_id).values(published_at=None)
            )
        await eventually(lambda: _unpublished(runtime, acme), lambda count: count == 0, 3.0)
        assert (await stream.stream_info(names.stream)).state.messages == stored
    finally:
        await connection.close()


async def test_a_refused_change_records_no_event(acme: Tenant, receiver: Receiver) -> None:
    await register(acme, receiver)
    conversation = (await acme.call("key", "POST", "/conversations", json={}, expect=201))["id"]
    await acme.call("agent", "POST", f"/agent/conversations/{conversation}/resolve", expect=409)  # still the bot's
    await eventually(lambda: _async(receiver.received), lambda seen: len(seen) == 1, 3.0)
    await _settle()
    assert [event["type"] for event in events_of(receiver)] == ["conversation.created"]


async def _unpublished(runtime: Any, tenant: Tenant) -> int:
    query = select(func.count()).where(OutboxEvent.published_at.is_(None), OutboxEvent.tenant_id == tenant.tenant_id)
    async with runtime.database.transaction() as session:
        return int(await session.scalar(query) or 0)


async def _async(value: Any) -> Any:
    return value


async def _settle() -> None:
    """Long enough for a wrong second delivery to arrive (several poll intervals and backoffs)."""
    await asyncio.sleep(1.0)
