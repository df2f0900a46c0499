"""The bar for mid-stream failover: SIGKILL the replica serving 20 in-flight answers; every one of the 20 customers
gets a complete answer ending with ``done``, without a duplicated or missing character, stored once.

Engines of its own (one is killed), slow enough that all 20 answers are mid-stream when the kill comes, and a
router without the load bound, so all 20 conversations really are on the one replica that dies.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import SecretStr

from app.core.metrics import REGISTRY
from app.core.sse import SSEParser
from app.router.app import create_router_app
from tests.app.chat.conftest import (
    CHAT_MODEL,
    ENGINE_KEY,
    Customer,
    Desk,
    Engines,
    Turn,
    home,
    router_settings,
    running_engines,
)
from tests.app.harness import RunningServer, serve_app

IN_FLIGHT = 20
QUESTION = "My parcel has not arrived yet, can you help?"
#: ~200 tokens at 40 ms each: every answer takes ~8 s, so all 20 are mid-answer when the replica is killed,
#: even when a loaded machine starts them seconds apart.
SLOW = ("--sim-itl-ms", "40", "--sim-output-tokens", "200")


@pytest.fixture(scope="module")
def engines() -> Iterator[Engines]:
    with running_engines(*SLOW) as started:
        yield started


@pytest.fixture
async def router(engines: Engines) -> AsyncIterator[RunningServer]:
    chat_urls = [process.base_url for process in engines.chat]
    settings = router_settings(chat_urls, [engines.classifier.base_url], affinity_balance_factor=0)
    async with serve_app(create_router_app(settings)) as server:
        yield server


async def answer_after_first_delta(customer: Customer, conversation: str, started: asyncio.Event) -> Turn:
    """Stream one turn like ``Customer.send``, setting ``started`` once the first delta has arrived."""
    headers = {**customer.headers, "Accept": "text/event-stream"}
    path = f"/internal/v1/conversations/{conversation}/messages"
    parser, events = SSEParser(), []
    async with customer.chat.stream("POST", path, json={"content": QUESTION}, headers=headers) as response:
        async for chunk in response.aiter_raw():
            events.extend((event.event, event.json()) for event in parser.feed(chunk))
            if any(name == "delta" for name, _ in events):
                started.set()
    return Turn(status=response.status_code, events=events)


CHAT_OPTIONS = {
    "engine_total_timeout_seconds": 120.0,
    # a loaded machine can take seconds to the first token: no retry elsewhere, so all 20 stay on the victim
    "engine_first_token_timeout_seconds": 60.0,
    # the engines above take this module's import of the conftest's key (pytest imports conftest under another name)
    "engine_api_key": SecretStr(ENGINE_KEY),
}


@pytest.mark.parametrize("chat_options", [CHAT_OPTIONS])
async def test_sigkill_of_the_replica_serving_20_answers_loses_none(desk: Desk, engines: Engines) -> None:
    victim, survivor = engines.chat
    reference_customer = desk.customer()
    while home(engines, reference := await reference_customer.conversation()) is not survivor:
        pass
    expected = await reference_customer.send(reference, QUESTION)
    assert expected.names == ["message", "delta", "done"]

    customers = [desk.customer() for _ in range(IN_FLIGHT)]
    conversations: list[str] = []
    for customer in customers:
        while home(engines, conversation := await customer.conversation()) is not victim:
            pass
        conversations.append(conversation)
    continued_before = REGISTRY.get_sample_value(
        "helpline_chat_failovers_total", {"model": CHAT_MODEL, "reason": "broken", "result": "continued"}
    )

    started = [asyncio.Event() for _ in customers]
    turns = asyncio.gather(
        *(
            answer_after_first_delta(customer, conversation, first_delta)
            for customer, conversation, first_delta in zip(customers, conversations, started, strict=True)
        )
    )
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in started)), 60)
    os.kill(victim.pid, signal.SIGKILL)  # every customer is mid-answer: each has text, none has its end
    results = await turns

    for customer, conversation, turn in zip(customers, conversations, results, strict=True):
        assert turn.names == ["message", "delta", "done"], turn.names
        assert turn.text == expected.text  # seamless: nothing repeated, nothing missing
        stored = await customer.messages(conversation)
        assert [message["role"] for message in stored] == ["customer", "assistant"]  # stored once
        assert (stored[-1]["status"], stored[-1]["content"]) == ("complete", turn.text)
    continued = REGISTRY.get_sample_value(
        "helpline_chat_failovers_total", {"model": CHAT_MODEL, "reason": "broken", "result": "continued"}
    )
    assert (continued or 0) - (continued_before or 0) == IN_FLIGHT
