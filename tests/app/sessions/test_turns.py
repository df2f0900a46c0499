"""Customer turns as chat drives them: store first, placeholder, history window, idempotency, finish, escalate."""

from __future__ import annotations

from uuid import UUID, uuid4

from app.core.metrics import REGISTRY
from tests.app.sessions.conftest import Callers


async def test_a_bot_turn_stores_the_message_and_a_placeholder(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    started = await customer.turn(conversation["id"], "Hello there")
    assert started["mode"] == "bot"
    assert started["replayed"] is False
    assert started["customer_message"]["content"] == "Hello there"
    assert started["customer_message"]["status"] == "complete"
    assert started["assistant_message"]["status"] == "streaming"
    assert started["assistant_message"]["content"] == ""
    assert started["history"] == [{"role": "user", "content": "Hello there"}]
    stored = (await customer.get(f"/conversations/{conversation['id']}/messages")).json()["items"]
    assert [(m["role"], m["status"]) for m in stored] == [("customer", "complete"), ("assistant", "streaming")]


async def test_the_history_window_is_the_newest_messages_oldest_first(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    for index in range(3):
        await customer.answer(conversation["id"], content=f"answer {index}")
    started = await customer.turn(conversation["id"], "last question", history_limit=3)
    assert started["history"] == [
        {"role": "user", "content": "Where is my order?"},
        {"role": "assistant", "content": "answer 2"},
        {"role": "user", "content": "last question"},
    ]


async def test_empty_and_system_messages_stay_out_of_the_history(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    started = await customer.turn(conversation["id"], "first")
    # The first answer failed before any token: an empty partial answer.
    await customer.post(
        f"/conversations/{conversation['id']}/messages/{started['assistant_message']['id']}:finish",
        {"content": "", "status": "partial", "error": "engine unavailable"},
    )
    again = await customer.turn(conversation["id"], "second")
    assert [entry["content"] for entry in again["history"]] == ["first", "second"]


async def test_finish_writes_the_answer_once(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    started = await customer.turn(conversation["id"])
    path = f"/conversations/{conversation['id']}/messages/{started['assistant_message']['id']}:finish"
    usage = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    done = await customer.post(
        path, {"content": "Shipped.", "status": "complete", "usage": usage, "finish_reason": "stop"}
    )
    assert done.json()["status"] == "complete"
    assert done.json()["usage"] == usage
    assert done.json()["finish_reason"] == "stop"
    late = await customer.post(path, {"content": "Other text", "status": "partial"})
    assert late.json()["content"] == "Shipped."  # the first finish wins
    customer_message_path = f"/conversations/{conversation['id']}/messages/{started['customer_message']['id']}:finish"
    assert (await customer.post(customer_message_path, {"content": "x", "status": "complete"})).status_code == 404


async def test_a_partial_answer_keeps_what_was_generated(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    started = await customer.turn(conversation["id"])
    path = f"/conversations/{conversation['id']}/messages/{started['assistant_message']['id']}:finish"
    response = await customer.post(
        path, {"content": "It ships to", "status": "partial", "error": "client disconnected"}
    )
    assert response.json()["status"] == "partial"
    assert response.json()["content"] == "It ships to"


async def test_an_idempotent_retry_returns_the_original_turn(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    first = await customer.turn(conversation["id"], "Refund please", idempotency_key="key-1")
    retry = await customer.turn(conversation["id"], "Refund please", idempotency_key="key-1")
    assert retry["replayed"] is True
    assert retry["customer_message"]["id"] == first["customer_message"]["id"]
    assert retry["assistant_message"]["id"] == first["assistant_message"]["id"]
    stored = (await customer.get(f"/conversations/{conversation['id']}/messages")).json()["items"]
    assert len(stored) == 2  # one turn, not two

    reused = await customer.post(
        f"/conversations/{conversation['id']}/turns", {"content": "Something else", "idempotency_key": "key-1"}
    )
    assert reused.status_code == 409
    assert reused.json()["type"] == "/problems/idempotency-key-reused"
    # The same key on another conversation is another request.
    other = await customer.conversation()
    assert (await customer.turn(other["id"], "Refund please", idempotency_key="key-1"))["replayed"] is False


async def test_a_retry_answers_a_turn_whose_answer_never_started(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    first = await customer.turn(conversation["id"], "Refund please", idempotency_key="k")
    answer_id = first["assistant_message"]["id"]
    await customer.post(
        f"/conversations/{conversation['id']}/messages/{answer_id}:finish",
        {"content": "", "status": "partial", "error": "engine unavailable"},
    )
    retry = await customer.turn(conversation["id"], "Refund please", idempotency_key="k")
    assert retry["replayed"] is False  # to be answered now, into the same placeholder
    assert retry["assistant_message"]["id"] == answer_id
    assert retry["assistant_message"]["status"] == "streaming"
    assert retry["history"] == [{"role": "user", "content": "Refund please"}]
    stored = (await customer.get(f"/conversations/{conversation['id']}/messages")).json()["items"]
    assert len(stored) == 2
    # Once it has text, a retry replays it as it is.
    await customer.post(
        f"/conversations/{conversation['id']}/messages/{answer_id}:finish", {"content": "Done.", "status": "complete"}
    )
    replay = await customer.turn(conversation["id"], "Refund please", idempotency_key="k")
    assert (replay["replayed"], replay["assistant_message"]["content"]) == (True, "Done.")


async def test_while_a_human_has_it_messages_are_stored_not_answered(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    await customer.post(f"/conversations/{conversation['id']}/handoff", {})
    started = await customer.turn(conversation["id"], "Anyone there?", idempotency_key="h-1")
    assert started["mode"] == "human"
    assert started["assistant_message"] is None
    assert started["history"] == []
    replay = await customer.turn(conversation["id"], "Anyone there?", idempotency_key="h-1")
    assert (replay["replayed"], replay["mode"]) == (True, "human")


async def test_escalation_by_chat_rules(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    label = {"reason": "negative_emotion"}
    before = REGISTRY.get_sample_value("helpline_handoffs_total", label) or 0.0
    response = await customer.post(f"/conversations/{conversation['id']}:escalate", {"reason": "negative_emotion"})
    assert response.json()["status"] == "waiting_human"
    assert REGISTRY.get_sample_value("helpline_handoffs_total", label) == before + 1
    unknown_reason = await customer.conversation()
    await customer.post(f"/conversations/{unknown_reason['id']}:escalate", {"reason": "free text " * 3})
    assert (REGISTRY.get_sample_value("helpline_handoffs_total", {"reason": "other"}) or 0) >= 1


async def test_turns_on_unknown_conversations_write_nothing(callers: Callers, tenant: UUID) -> None:
    customer = callers.api_key(tenant)
    response = await customer.post(f"/conversations/{uuid4()}/turns", {"content": "hello"})
    assert response.status_code == 404
