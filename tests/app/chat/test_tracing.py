"""One trace from the gateway's request through chat and the router to the engine (W3C traceparent)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.router.app import create_router_app
from tests.app.chat.conftest import Desk, router_settings
from tests.app.chat.scripted_engine import ScriptedEngine
from tests.app.harness import RunningServer, serve_app

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def scripted() -> ScriptedEngine:
    return ScriptedEngine()


@pytest.fixture
async def router(scripted: ScriptedEngine) -> AsyncIterator[RunningServer]:
    """This module's router sends both models to a scripted engine that records every request's headers."""
    async with serve_app(scripted.app()) as engine:
        settings = router_settings([engine.base_url], [engine.base_url])
        async with serve_app(create_router_app(settings)) as server:
            yield server


async def test_the_trace_reaches_the_engine_through_the_router(desk: Desk, scripted: ScriptedEngine) -> None:
    customer = desk.customer()
    conversation = await customer.conversation()
    headers = {**customer.headers, "Accept": "text/event-stream", "traceparent": INCOMING}
    path = f"/internal/v1/conversations/{conversation}/messages"
    async with desk.chat.stream("POST", path, json={"content": "Hello"}, headers=headers) as response:
        await response.aread()
    assert response.status_code == 200
    answer_request = next(request for request in scripted.requests if request["body"].get("stream"))
    traceparent = answer_request["headers"]["traceparent"]
    assert traceparent.split("-")[1] == TRACE_ID
    assert answer_request["headers"]["x-session-id"] == conversation
