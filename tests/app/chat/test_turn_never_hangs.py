"""A turn whose answer cannot be finished still ends: an error event, never a stream kept open on heartbeats.

Found by the overhead benchmark: under load, storing the answer in sessions timed out, the answer's task died,
and the customer's stream stayed open forever (heartbeats every 15 s kept every proxy timeout from firing).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.chat.sessions_client import SessionsClient
from app.core.internal_client import DependencyUnavailableError
from tests.app.chat.conftest import Desk
from tests.app.harness import RunningServer


def sessions_client_of(chat_server: RunningServer) -> SessionsClient:
    app: Any = chat_server.server.config.app
    return app.state.turns._sessions


@pytest.mark.parametrize(
    ("failure", "problem_type"),
    [
        (TimeoutError(), "/problems/dependency-timeout"),
        (DependencyUnavailableError("The sessions service cannot be reached."), "/problems/dependency-unavailable"),
    ],
)
async def test_an_answer_that_cannot_be_stored_ends_the_stream_with_an_error(
    desk: Desk, chat_server: RunningServer, monkeypatch: pytest.MonkeyPatch, failure: Exception, problem_type: str
) -> None:
    async def failing_finish(*_args: object, **_options: object) -> None:
        raise failure

    monkeypatch.setattr(sessions_client_of(chat_server), "finish", failing_finish)
    customer = desk.customer()
    conversation = await customer.conversation()
    turn = await asyncio.wait_for(customer.send(conversation, "Where is my parcel?"), 30)
    assert turn.names == ["message", "delta", "error"]
    problem = turn.named("error")[0]["problem"]
    assert problem["type"] == problem_type
    assert problem["request_id"]
