"""The degradation ladder's lower rungs on the real path (simulator processes, the router, sessions on Postgres):
what a customer receives when the chat model fails (its circuit opens), when its replicas are killed, and when
the fallback model is down too; and the way back to normal. (Saturated: test_degradation_saturated.py.)

Engines of their own: the last test SIGKILLs both chat replicas.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from app.chat.degraded_answers import FALLBACK_NOTE, everything_down_text
from app.contracts.api import Tier
from app.core.metrics import REGISTRY
from app.core.waits import scaled
from tests.app.chat.conftest import (
    CHAT_MODEL,
    CLASSIFIER_MODEL,
    ENGINE_KEY,
    Customer,
    Desk,
    Engines,
    Turn,
    running_engines,
)
from tests.app.router.conftest import until

STATUS_PAGE = "https://status.helpline.example/"
QUESTION = "Where is my order? It should have arrived yesterday."


@pytest.fixture(scope="module")
def engines() -> Iterator[Engines]:
    with running_engines() as started:
        yield started


@pytest.fixture
def chat_options() -> dict[str, Any]:
    return {
        "degradation_ladder": True,
        "fallback_model": CLASSIFIER_MODEL,
        "status_page_url": STATUS_PAGE,
        "degradation_ttft_slo_seconds": 60.0,  # saturation is not what this module is about (a loaded machine)
        "engine_first_token_timeout_seconds": scaled(3.0),  # the fallback must not time out on a loaded machine
        "engine_retries": 0,  # each failed turn is one failure for the circuit (threshold 3)
        "engine_api_key": SecretStr(ENGINE_KEY),  # this module's engines (the conftest may be loaded twice)
    }


def level(tier: Tier = Tier.STANDARD) -> float | None:
    return REGISTRY.get_sample_value("helpline_degradation_level", {"model": CHAT_MODEL, "tier": tier.value})


def degraded(level_name: str, kind: str, model: str) -> float:
    labels = {"model": model, "level": level_name, "kind": kind}
    return REGISTRY.get_sample_value("helpline_degraded_answers_total", labels) or 0.0


async def assert_fallback_answer(customer: Customer, conversation: str, turn: Turn) -> None:
    """A complete answer by the fallback model, marked in the text and the message, stored as seen."""
    assert turn.names == ["message", "delta", "done"]
    assert turn.text.endswith(FALLBACK_NOTE)
    assert len(turn.text) > len(FALLBACK_NOTE)  # the fallback model's own answer comes first
    done = turn.named("done")[0]["message"]
    assert (done["degradation"], done["content"]) == ("chat_model_down", turn.text)
    stored = (await customer.messages(conversation))[-1]
    assert (stored["status"], stored["content"], stored["degradation"]) == ("complete", turn.text, "chat_model_down")
    assert await customer.conversation_status(conversation) == "bot"  # offered, not forced: the customer chooses


async def test_a_failing_chat_model_is_answered_by_the_fallback_until_its_circuit_closes(
    desk: Desk, engines: Engines
) -> None:
    assert level() == 0
    for process in engines.chat:
        process.arm_fault("error", count=None)  # every chat replica answers 500
    customer = desk.customer()
    fallbacks_before = degraded("chat_model_down", "fallback", CLASSIFIER_MODEL)
    for _ in range(3):  # the circuit's threshold: then the chat model is down without being called
        conversation = await customer.conversation()
        await assert_fallback_answer(customer, conversation, await customer.send(conversation, QUESTION))
    assert level() == 2
    assert level(Tier.FREE) == level(Tier.ENTERPRISE) == 2
    conversation = await customer.conversation()
    await assert_fallback_answer(customer, conversation, await customer.send(conversation, QUESTION))
    assert degraded("chat_model_down", "fallback", CLASSIFIER_MODEL) == fallbacks_before + 4

    # Exit: the chat model is back; after the circuit's pause the next turn is its probe, and it answers.
    for process in engines.chat:
        process.clear_faults()
    await asyncio.sleep(scaled(0.6))
    turn = await customer.send(conversation, "Thanks. And when will it arrive?")
    assert turn.names == ["message", "delta", "done"]
    assert turn.named("done")[0]["message"]["degradation"] is None
    assert FALLBACK_NOTE not in turn.text
    assert level() == 0


async def test_with_no_model_left_the_message_is_kept_for_a_person(desk: Desk, engines: Engines) -> None:
    for process in (*engines.chat, engines.classifier):
        process.arm_fault("error", count=None)
    customer = desk.customer()
    taken_before = degraded("everything_down", "message_taken", "none")
    conversations = [await customer.conversation() for _ in range(3)]
    for attempt, conversation in enumerate(conversations):
        content = f"My parcel is lost, please help (attempt {attempt})."
        turn = await customer.send(conversation, content)
        assert turn.names == ["message", "delta", "done"]
        assert turn.text == everything_down_text(STATUS_PAGE)
        assert STATUS_PAGE in turn.text
        done = turn.named("done")[0]
        assert done["message"]["degradation"] == "everything_down"
        # stored and acknowledged: the customer's message and the reply are kept, and the conversation waits
        # in the agents' queue for a person
        assert done["conversation"]["status"] == "waiting_human"
        stored = await customer.messages(conversation)
        assert [(m["role"], m["content"]) for m in stored][:2] == [("customer", content), ("assistant", turn.text)]
        assert stored[1]["degradation"] == "everything_down"
        assert stored[-1]["role"] == "system"  # "a person has been requested": the handoff the agents pick up
    assert level() == 3
    assert degraded("everything_down", "message_taken", "none") == taken_before + 3

    # A follow-up in that conversation is stored for the person too (no model is asked).
    follow_up = await customer.send(conversations[-1], "Any news?")
    assert follow_up.names == ["message", "done"]
    assert [m["content"] for m in await customer.messages(conversations[-1])][-1] == "Any news?"

    # Exit: the models are back; after the circuits' pause a new conversation is answered normally.
    for process in (*engines.chat, engines.classifier):
        process.clear_faults()
    await asyncio.sleep(scaled(0.6))
    fresh = await customer.conversation()
    turn = await customer.send(fresh, QUESTION)
    assert turn.names == ["message", "delta", "done"]
    assert turn.named("done")[0]["message"]["degradation"] is None
    assert level() == 0


async def test_killed_chat_replicas_put_the_fallback_in_at_once(desk: Desk, engines: Engines) -> None:
    """Last in this module: the chat replicas do not come back."""
    for process in engines.chat:
        os.kill(process.pid, signal.SIGKILL)
    # the router ejects replicas that refuse connections; until then a turn fails over to the fallback anyway
    await until(
        lambda: REGISTRY.get_sample_value("helpline_router_backends", {"model": CHAT_MODEL, "state": "ready"}) == 0,
        within_seconds=scaled(10),
    )
    customer = desk.customer(tier=Tier.ENTERPRISE)
    conversation = await customer.conversation()
    assert level(Tier.ENTERPRISE) == 0  # nothing has asked the chat model since the kill
    turn = await customer.send(conversation, QUESTION)
    await assert_fallback_answer(customer, conversation, turn)
    # one turn was enough: "no replica is ready" opens the circuit at once, without counting to the threshold
    assert level(Tier.ENTERPRISE) == 2
