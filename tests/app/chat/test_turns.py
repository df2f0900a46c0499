"""Customer turns through chat, sessions, the router and the engine simulator, over real HTTP."""

from __future__ import annotations

import pytest

from app.core.metrics import REGISTRY
from tests.app.chat.conftest import CHAT_MODEL, Desk


async def test_a_streamed_turn(desk: Desk) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    ttft_before = (
        REGISTRY.get_sample_value(
            "helpline_time_to_first_token_seconds_count", {"service": "chat", "model": CHAT_MODEL}
        )
        or 0.0
    )
    turn = await customer.send(conversation, "Where is my order?")
    assert turn.status == 200
    assert turn.names == ["message", "delta", "done"]
    assert turn.headers["x-helpline-model"] == CHAT_MODEL  # for the gateway: its metrics label
    assert turn.headers["x-helpline-replayed"] == "false"  # for the gateway: charge this one
    message = turn.named("message")[0]
    assert message["message"]["role"] == "customer"
    assert message["message"]["content"] == "Where is my order?"
    done = turn.named("done")[0]
    answer = done["message"]
    assert answer["role"] == "assistant"
    assert answer["status"] == "complete"
    assert answer["content"] == turn.text
    assert answer["usage"]["completion_tokens"] > 0
    assert answer["finish_reason"] in ("stop", "length")
    assert done["conversation"]["status"] == "bot"
    stored = await customer.messages(conversation)
    assert [(m["role"], m["status"], m["content"]) for m in stored] == [
        ("customer", "complete", "Where is my order?"),
        ("assistant", "complete", turn.text),
    ]
    assert (
        REGISTRY.get_sample_value(
            "helpline_time_to_first_token_seconds_count", {"service": "chat", "model": CHAT_MODEL}
        )
        == ttft_before + 1
    )


async def test_a_json_turn(desk: Desk) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    turn = await customer.send(conversation, "Can I change my password?", sse=False)
    assert turn.status == 200
    assert turn.body is not None
    assert turn.body["customer_message"]["content"] == "Can I change my password?"
    assert turn.body["reply"]["status"] == "complete"
    assert turn.body["reply"]["content"]
    assert turn.body["conversation"]["id"] == conversation


async def test_the_second_turn_sees_the_first(desk: Desk) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    first = await customer.send(conversation, "My parcel is late")
    second = await customer.send(conversation, "Any news?")
    assert second.status == 200
    assert (
        second.named("done")[0]["message"]["usage"]["prompt_tokens"]
        > (first.named("done")[0]["message"]["usage"]["prompt_tokens"])
    )


@pytest.mark.parametrize("chat_options", [{"log_level": "DEBUG"}])
async def test_message_text_stays_out_of_the_logs(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    secret = "my card number is 4111-1111-1111-1111"
    turn = await customer.send(conversation, secret)
    assert turn.names == ["message", "delta", "done"]
    logged = capsys.readouterr().out
    assert conversation in logged  # the turn was logged, with its conversation id
    assert "4111-1111" not in logged
    assert turn.text not in logged
