"""The saturated level on the real path (simulator replicas, the router, sessions on Postgres): while an answer waits
longer than the TTFT SLO for its first token (a hung replica: the engine's queue as chat sees it), another
customer whose question the help centre answers gets the passage itself, without generation; once the queue is gone
and pressure stays low for the hold time, answers are generated again.

The knowledge service here is a stand-in answering its retrieval contract (``app.contracts.knowledge``) with one
fixed passage: the real service needs pgvector, and what is under test is chat's choice, not retrieval (the real
service's answers: test_grounding.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest
from fastapi import FastAPI, Response

from app.chat.degraded_answers import FALLBACK_NOTE
from app.contracts.api import Tier
from app.contracts.internal import SATURATED_HEADER
from app.contracts.knowledge import Retrieval, RetrievedPassage
from app.core.metrics import REGISTRY
from app.core.waits import scaled
from tests.app.chat.conftest import CHAT_MODEL, Desk, Engines, home
from tests.app.harness import RunningServer, serve_app
from tests.app.router.conftest import until

SLO = scaled(1.0)
PASSAGE = RetrievedPassage(
    passage_id=uuid4(),
    article_id=uuid4(),
    title="Returns and refunds",
    url="https://help.example/returns",
    heading_path=["Returns and refunds", "Return window"],
    text="You can return any unused item within 30 days of delivery. Start a return from the Orders page.",
    score=1.0,
    similarity=0.9,
)


@pytest.fixture
async def knowledge() -> AsyncIterator[RunningServer]:
    app = FastAPI()

    @app.post("/internal/v1/knowledge/retrieve")
    async def retrieve() -> Retrieval:
        return Retrieval(passages=[PASSAGE], answerable=True, best_similarity=0.9, threshold=0.5)

    @app.post("/internal/v1/knowledge/gaps")
    async def gaps() -> Response:
        return Response(status_code=204)

    async with serve_app(app) as server:
        yield server


@pytest.fixture
def chat_options(knowledge: RunningServer) -> dict[str, Any]:
    return {
        "knowledge_url": knowledge.base_url,
        "degradation_ladder": True,
        "degradation_ttft_slo_seconds": SLO,
        "engine_first_token_timeout_seconds": 3 * SLO,  # the hung request waits this long, then moves on
        "degradation_window_seconds": scaled(0.5),
        "degradation_hold_seconds": scaled(0.5),
    }


def level(tier: Tier = Tier.STANDARD) -> float | None:
    return REGISTRY.get_sample_value("helpline_degradation_level", {"model": CHAT_MODEL, "tier": tier.value})


async def test_a_queue_over_the_slo_serves_help_centre_answers_without_generation(desk: Desk, engines: Engines) -> None:
    # A first turn loads what a fresh chat loads on first use (PII detection: seconds), and must not be what
    # saturates: wait for the ladder to be back to normal after it.
    warm = desk.customer()
    assert (await warm.send(await warm.conversation(), "Hello")).names == ["message", "delta", "done"]
    await until(lambda: level() == 0, within_seconds=scaled(5))

    waiting = desk.customer()
    stuck = await waiting.conversation()
    home(engines, stuck).arm_fault("hang")  # its next request never produces a token
    pending = asyncio.create_task(waiting.send(stuck, "I want to send back a jacket."))
    # (the turn reaches the engine after sessions, PII detection and retrieval: seconds on a loaded machine)
    await until(lambda: level() == 1, within_seconds=scaled(5) + SLO)

    customer = desk.customer()
    conversation = await customer.conversation()
    extractive_before = REGISTRY.get_sample_value(
        "helpline_degraded_answers_total", {"model": CHAT_MODEL, "level": "saturated", "kind": "extractive"}
    )
    turn = await customer.send(conversation, "How many days do I have to return an item?")
    assert turn.names == ["message", "delta", "done"]
    assert turn.text == f"Here is what our help centre says (Returns and refunds > Return window):\n\n{PASSAGE.text}"
    done = turn.named("done")[0]["message"]
    assert done["degradation"] == "saturated"
    assert done["usage"] is None  # no model was called
    assert [source["title"] for source in done["sources"]] == ["Returns and refunds"]
    stored = (await customer.messages(conversation))[-1]
    assert (stored["content"], stored["degradation"], stored["status"]) == (turn.text, "saturated", "complete")
    assert (
        REGISTRY.get_sample_value(
            "helpline_degraded_answers_total", {"model": CHAT_MODEL, "level": "saturated", "kind": "extractive"}
        )
        == (extractive_before or 0) + 1
    )

    # The stuck answer moves to the other replica; then the queue is empty and, after the hold, normal again.
    answered = await pending
    assert answered.names == ["message", "delta", "done"]
    await until(lambda: level() == 0, within_seconds=scaled(5))
    again = await customer.send(conversation, "And how do I start a return?")
    assert again.names == ["message", "delta", "done"]
    assert again.named("done")[0]["message"]["degradation"] is None
    assert again.named("done")[0]["message"]["usage"] is not None  # generated by the chat model
    assert FALLBACK_NOTE not in again.text


async def test_the_gateways_saturation_signal_is_a_saturated_level_too(desk: Desk) -> None:
    """The gateway's admission control sees the whole queue (it sheds before chat sees anything): a turn it marks
    ``X-Helpline-Saturated`` gets the help-centre passage; the same question unmarked is generated."""
    customer = desk.customer()
    conversation = await customer.conversation()
    path = f"/internal/v1/conversations/{conversation}/messages"
    question = {"content": "How many days do I have to return an item?"}
    headers = {**customer.headers, SATURATED_HEADER: "true"}
    marked = await desk.chat.post(path, json=question, headers=headers)
    assert marked.status_code == 200, marked.text
    reply = marked.json()["reply"]
    assert (reply["degradation"], reply["usage"]) == ("saturated", None)
    assert reply["content"].endswith(PASSAGE.text)
    unmarked = await desk.chat.post(path, json=question, headers=customer.headers)
    assert unmarked.json()["reply"]["degradation"] is None
    assert unmarked.json()["reply"]["usage"] is not None
