"""Idempotent retries, customers who leave mid-answer, escalation by the classifier, human mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest

from app.chat.escalation import NEGATIVE_EMOTIONS
from app.contracts.api import Role, Scope
from app.core.metrics import REGISTRY
from app.core.sse import SSEParser
from tests.app.chat.conftest import CHAT_MODEL, Customer, Desk, Engines, home
from tests.app.harness import eventually


def answered() -> float:
    return REGISTRY.get_sample_value("helpline_engine_requests_total", {"model": CHAT_MODEL, "outcome": "ok"}) or 0.0


async def test_a_retry_with_the_same_key_gets_the_original_answer(desk: Desk) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    first = await customer.send(conversation, "Refund my order", key="retry-1")
    engine_calls = answered()
    again = await customer.send(conversation, "Refund my order", key="retry-1")
    assert answered() == engine_calls  # no second answer was generated
    assert again.headers["x-helpline-replayed"] == "true"  # the gateway does not charge it twice
    assert again.names == ["message", "delta", "done"]
    assert again.text == first.text
    assert again.named("done")[0]["message"]["id"] == first.named("done")[0]["message"]["id"]
    as_json = await customer.send(conversation, "Refund my order", key="retry-1", sse=False)
    assert as_json.body is not None
    assert as_json.body["reply"]["id"] == first.named("done")[0]["message"]["id"]
    assert len(await customer.messages(conversation)) == 2
    reused = await customer.send(conversation, "Something else", key="retry-1", sse=False)
    assert reused.status == 409
    assert reused.body is not None
    assert reused.body["type"] == "/problems/idempotency-key-reused"


async def open_stream(
    customer: Customer, conversation: str, content: str, key: str | None = None
) -> tuple[httpx.Response, AsyncIterator[bytes]]:
    """A streamed turn left open: the test reads as much as it wants, then closes it."""
    headers = {**customer.headers, "Accept": "text/event-stream"}
    if key:
        headers["Idempotency-Key"] = key
    request = customer.chat.build_request(
        "POST", f"/internal/v1/conversations/{conversation}/messages", json={"content": content}, headers=headers
    )
    response = await customer.chat.send(request, stream=True)
    return response, response.aiter_raw()


async def read_until_delta(chunks: AsyncIterator[bytes]) -> list[str]:
    parser = SSEParser()
    names: list[str] = []
    while "delta" not in names:
        names += [event.event for event in parser.feed(await anext(chunks))]
    return names


async def test_a_retry_while_the_original_is_answered_is_told_to_wait(desk: Desk, engines: Engines) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    home(engines, conversation).arm_fault("slow", factor=50)
    response, chunks = await open_stream(customer, conversation, "Where is my parcel?", key="busy")
    try:
        await read_until_delta(chunks)
        retry = await customer.send(conversation, "Where is my parcel?", key="busy", sse=False)
        assert retry.status == 409
        assert retry.body is not None
        assert retry.body["type"] == "/problems/idempotent-request-in-progress"
    finally:
        await response.aclose()


async def test_a_customer_leaving_mid_answer_leaves_a_partial_answer(desk: Desk, engines: Engines) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    home(engines, conversation).arm_fault("slow", factor=50)  # ~50 ms per token: the answer takes a while
    response, chunks = await open_stream(customer, conversation, "Tell me about my invoice")
    await read_until_delta(chunks)
    await response.aclose()  # the customer closes the tab

    messages = await eventually(
        lambda: customer.messages(conversation), lambda items: items[-1]["status"] == "partial", within_seconds=10
    )
    answer = messages[-1]
    assert answer["role"] == "assistant"
    assert answer["content"]  # what was generated before the disconnect
    assert answer["usage"] is None or answer["usage"]["completion_tokens"] < 12


async def test_asking_for_a_person_hands_the_conversation_over(desk: Desk) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    handoffs = REGISTRY.get_sample_value("helpline_handoffs_total", {"reason": "human_request"}) or 0.0
    turn = await customer.send(conversation, "I want to talk to a real person")
    assert turn.names == ["message", "delta", "done"]  # the bot still answers this message
    assert turn.named("done")[0]["conversation"]["status"] == "waiting_human"
    assert await customer.conversation_status(conversation) == "waiting_human"
    assert REGISTRY.get_sample_value("helpline_handoffs_total", {"reason": "human_request"}) == handoffs + 1

    calls = answered()
    stored_only = await customer.send(conversation, "Hello? Is someone coming?")
    assert stored_only.names == ["message", "done"]
    assert stored_only.named("done")[0]["message"] is None
    assert answered() == calls  # nothing was sent to the model
    assert (await customer.messages(conversation))[-1]["content"] == "Hello? Is someone coming?"


async def test_repeated_anger_hands_the_conversation_over(desk: Desk) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    first = await customer.send(conversation, "This is ridiculous, the worst service ever")
    assert first.named("done")[0]["conversation"]["status"] == "bot"
    second = await customer.send(conversation, "Unacceptable. I am furious about this")
    assert second.named("done")[0]["conversation"]["status"] == "waiting_human"

    # the agent who takes it sees why: each customer message's intent and emotion, oldest first
    claims = desk.identities.claims(customer.tenant_id, role=Role.AGENT, scopes=[Scope.AGENT], principal="user")
    path = f"/internal/v1/agent/conversations/{conversation}/classifications"
    verdicts = (await desk.chat.get(path, headers=desk.identities.headers(claims))).json()
    customer_ids = [m["id"] for m in await customer.messages(conversation) if m["role"] == "customer"]
    assert [v["message_id"] for v in verdicts] == customer_ids
    assert all(v["emotion"] in NEGATIVE_EMOTIONS for v in verdicts)
    other_tenant = desk.identities.claims(uuid4(), role=Role.AGENT, scopes=[Scope.AGENT], principal="user")
    assert (await desk.chat.get(path, headers=desk.identities.headers(other_tenant))).json() == []
    customers_own = await desk.chat.get(
        path, headers=desk.identities.headers(desk.identities.claims(customer.tenant_id))
    )
    assert customers_own.status_code == 403  # people at the desk only


async def test_a_failing_classifier_never_costs_the_answer(desk: Desk, engines: Engines) -> None:
    engines.classifier.arm_fault("error", count=None)
    customer = desk.customer()
    conversation = await customer.conversation()
    turn = await customer.send(conversation, "I want to talk to a real person")
    assert turn.names == ["message", "delta", "done"]
    assert turn.named("done")[0]["message"]["status"] == "complete"
    assert turn.named("done")[0]["conversation"]["status"] == "bot"  # no verdict, no escalation


@pytest.mark.parametrize(
    "chat_options", [{"escalate_on_engine_failure": True, "engine_first_token_timeout_seconds": 0.5}]
)
async def test_an_engine_outage_can_hand_conversations_to_people(desk: Desk, engines: Engines) -> None:
    for process in engines.chat:
        process.arm_fault("hang", count=None)
    customer = desk.customer()
    conversation = await customer.conversation()
    turn = await customer.send(conversation, "Hello")
    assert turn.named("error")[0]["problem"]["type"] == "/problems/engine-timeout"
    assert await customer.conversation_status(conversation) == "waiting_human"


@pytest.mark.parametrize("chat_options", [{"sse_heartbeat_seconds": 0.05}])
async def test_a_silent_stream_carries_heartbeats(desk: Desk, engines: Engines) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    home(engines, conversation).arm_fault("slow", factor=40)  # ~200 ms to the first token
    turn = await customer.send(conversation, "Hello")
    assert b": keep-alive\n\n" in turn.raw.split(b"event: delta")[0]  # before the first token
    assert turn.names == ["message", "delta", "done"]  # clients ignore comments
