"""Nothing but the answer itself runs before its first token: the classifier waits for it.

Found by the overhead benchmark's profile: started together with the answer, the two classifier calls were
built and sent first on chat's event loop, and the answer's own request waited behind them.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.chat.engine import AnswerRequest, AnswerStream, EngineClient
from tests.app.chat.conftest import Desk
from tests.app.harness import RunningServer


async def test_the_classifier_is_called_only_once_the_answer_has_started(
    desk: Desk, chat_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    app: Any = chat_server.server.config.app
    engine: EngineClient = app.state.engine
    calls: list[str] = []
    open_answer, choose = engine.open_answer, engine.choose

    async def recorded_open_answer(request: AnswerRequest) -> AnswerStream:
        calls.append("answer requested")
        stream = await open_answer(request)
        calls.append("first token")
        return stream

    async def recorded_choose(*args: Any, **kwargs: Any) -> tuple[str | None, Any]:
        calls.append("classify")
        return await choose(*args, **kwargs)

    monkeypatch.setattr(engine, "open_answer", recorded_open_answer)
    monkeypatch.setattr(engine, "choose", recorded_choose)
    customer = desk.customer()
    conversation = await customer.conversation()
    turn = await customer.send(conversation, "I want to talk to a real person right now!")
    assert turn.names == ["message", "delta", "done"]
    assert calls == ["answer requested", "first token", "classify", "classify"]
    # the classification still drives the rules: an explicit request for a human escalates
    assert await customer.conversation_status(conversation) == "waiting_human"
