"""What customers get when things break: each failure is a precise problem, and nothing generated is lost."""

from __future__ import annotations

import asyncio

import pytest

from app.core.metrics import REGISTRY
from app.core.waits import scaled
from tests.app.chat.conftest import CHAT_MODEL, Desk, Engines, home


def outcome(name: str) -> float:
    return REGISTRY.get_sample_value("helpline_engine_requests_total", {"model": CHAT_MODEL, "outcome": name}) or 0.0


@pytest.mark.parametrize("chat_options", [{"engine_failovers": 0}])  # with failover: tests/app/chat/test_failover.py
async def test_an_error_mid_answer_ends_the_stream_and_keeps_the_text(desk: Desk, engines: Engines) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    home(engines, conversation).arm_fault("error", after_tokens=3)
    turn = await customer.send(conversation, "Where is my order?")
    assert turn.status == 200
    assert turn.names == ["message", "delta", "error"]
    problem = turn.named("error")[0]["problem"]
    assert problem["type"] == "/problems/engine-error"
    assert problem["status"] == 502
    assert problem["request_id"]
    stored = (await customer.messages(conversation))[-1]
    assert stored["status"] == "partial"
    assert stored["content"] == turn.text
    assert turn.text  # the three tokens the customer saw are kept


async def test_a_dead_engine_is_retried_then_reported_then_short_circuited(desk: Desk, engines: Engines) -> None:
    for process in engines.chat:
        process.arm_fault("error", count=None)  # an engine answering 500 until cleared
    customer = desk.customer()
    conversation = await customer.conversation()
    errors_before = outcome("error")
    turn = await customer.send(conversation, "Hello?")
    assert turn.names == ["message", "error"]
    assert turn.named("error")[0]["problem"]["type"] == "/problems/engine-error"
    assert outcome("error") == errors_before + 1
    stored = (await customer.messages(conversation))[-1]
    assert (stored["role"], stored["status"], stored["content"]) == ("assistant", "partial", "")

    # Two more failures reach the threshold (3); then the circuit answers at once, without calling the engine.
    for _ in range(2):
        await customer.send(conversation, "Hello?", sse=False)
    circuit_before = outcome("circuit_open")
    refused = await customer.send(conversation, "Still there?", sse=False)
    assert refused.status == 503
    assert refused.body is not None
    assert refused.body["type"] == "/problems/engine-unavailable"
    assert outcome("circuit_open") == circuit_before + 1
    assert REGISTRY.get_sample_value("helpline_engine_circuit_open", {"model": CHAT_MODEL}) == 1

    # After the cool-down one probe goes through; the engine is back, so the circuit closes.
    for process in engines.chat:
        process.clear_faults()
    await asyncio.sleep(scaled(0.6))
    recovered = await customer.send(conversation, "And now?")
    assert recovered.names == ["message", "delta", "done"]
    assert REGISTRY.get_sample_value("helpline_engine_circuit_open", {"model": CHAT_MODEL}) == 0


@pytest.mark.parametrize("chat_options", [{"engine_first_token_timeout_seconds": 1.0}])
async def test_a_hung_replica_is_left_for_another_before_the_first_token(desk: Desk, engines: Engines) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    home(engines, conversation).arm_fault("hang")
    retried_before = outcome("retried")
    turn = await customer.send(conversation, "Is anyone there?")
    assert turn.names == ["message", "delta", "done"]
    assert outcome("retried") == retried_before + 1


# Chat believes the window is huge; the engine's is 4096: its own checks are the backstop. vLLM 0.32 clamps a
# max_tokens that does not fit beside the prompt (0.12 refused it), so the first turn is answered; once the
# history alone is over the context the engine refuses the prompt: a clear problem.
@pytest.mark.parametrize("chat_options", [{"max_model_len": 100_000, "default_max_tokens": 3000}])
async def test_the_engine_clamps_max_tokens_and_refuses_an_overflowing_prompt(desk: Desk) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    overflow_before = outcome("context_overflow")
    answered = await customer.send(conversation, "a " * 1975, sse=False)  # ~2 characters per engine token
    assert answered.status == 200, answered.body
    assert answered.body is not None
    reply = answered.body["reply"]
    assert reply["status"] == "complete"
    assert reply["content"]
    assert reply["usage"]["prompt_tokens"] + reply["usage"]["completion_tokens"] <= 4096
    for _ in range(3):  # the history grows by ~2000 tokens a turn: by the third, the prompt alone is over 4096
        turn = await customer.send(conversation, "b " * 1975, sse=False)
        if turn.status != 200:
            break
    assert turn.status == 400
    assert turn.body is not None
    assert turn.body["type"] == "/problems/context-length-exceeded"
    assert "4096" in turn.body["detail"]
    assert outcome("context_overflow") == overflow_before + 1


@pytest.mark.parametrize("chat_options", [{"max_model_len": 1024}])
async def test_a_message_that_can_never_fit_is_refused_before_it_is_stored(desk: Desk) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    turn = await customer.send(conversation, "a" * 3000, sse=True)
    assert turn.status == 422
    assert turn.body is not None
    assert turn.body["type"] == "/problems/message-too-long"
    assert await customer.messages(conversation) == []


async def test_unknown_and_foreign_conversations_are_404_and_write_nothing(desk: Desk) -> None:
    owner, stranger = desk.customer(), desk.customer()
    conversation = await owner.conversation()
    turn = await stranger.send(conversation, "hello", sse=True)
    assert turn.status == 404
    assert turn.body is not None
    assert turn.body["type"] == "/problems/not-found"
    assert await owner.messages(conversation) == []
