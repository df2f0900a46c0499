"""Nothing but the answer itself runs before its first token: the classifier waits for it, and is one request.

Found by the overhead benchmark's profile: started together with the answer, the classifier calls were built and
sent first on chat's event loop, and the answer's own request waited behind them. Intent and emotion then came
from one structured JSON request instead of one request each: one usage row per customer message.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from app.chat.engine import AnswerRequest, AnswerStream, EngineClient
from app.chat.models import MessageClassification, UsageRecord
from app.core.db import Database
from tests.app.chat.conftest import CLASSIFIER_MODEL, Desk
from tests.app.harness import PostgresDatabase, RunningServer, eventually


async def classifier_rows(
    database: PostgresDatabase, message_id: UUID
) -> tuple[list[UsageRecord], list[MessageClassification]]:
    db = Database(database.url, schema="chat")
    try:
        async with db.transaction() as session:
            usage = await session.scalars(select(UsageRecord).where(UsageRecord.kind == "classification"))
            verdicts = await session.scalars(
                select(MessageClassification).where(MessageClassification.message_id == message_id)
            )
            return list(usage.all()), list(verdicts.all())
    finally:
        await db.dispose()


async def test_the_classifier_is_called_once_and_only_once_the_answer_has_started(
    desk: Desk, chat_server: RunningServer, chat_database: PostgresDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    app: Any = chat_server.server.config.app
    engine: EngineClient = app.state.engine
    calls: list[str] = []
    open_answer, classify = engine.open_answer, engine.classify

    async def recorded_open_answer(request: AnswerRequest) -> AnswerStream:
        calls.append("answer requested")
        stream = await open_answer(request)
        calls.append("first token")
        return stream

    async def recorded_classify(*args: Any, **kwargs: Any) -> tuple[dict[str, Any] | None, Any]:
        calls.append("classify")
        return await classify(*args, **kwargs)

    monkeypatch.setattr(engine, "open_answer", recorded_open_answer)
    monkeypatch.setattr(engine, "classify", recorded_classify)
    customer = desk.customer()
    conversation = await customer.conversation()
    turn = await customer.send(conversation, "I want to talk to a real person right now!")
    assert turn.names == ["message", "delta", "done"]
    assert calls == ["answer requested", "first token", "classify"]
    # the classification still drives the rules: an explicit request for a human escalates
    assert await customer.conversation_status(conversation) == "waiting_human"
    message_id = UUID(turn.named("message")[0]["message"]["id"])
    usage, verdicts = await eventually(
        lambda: classifier_rows(chat_database, message_id), lambda rows: len(rows[0]) == 1
    )
    assert (usage[0].message_id, usage[0].model) == (message_id, CLASSIFIER_MODEL)
    assert usage[0].prompt_tokens > 0
    assert usage[0].completion_tokens > 0
    assert [(verdict.intent, verdict.emotion) for verdict in verdicts] == [("human_request", "neutral")]
