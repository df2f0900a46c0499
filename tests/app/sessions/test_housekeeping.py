"""Background jobs: abandoned answers become partial, idempotency keys expire, retention deletes old talks."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

from fastapi import FastAPI
from sqlalchemy import func, select, text

from app.core.db import Database
from app.sessions.housekeeping import Housekeeping
from app.sessions.models import Conversation, IdempotencyKey, Message
from app.sessions.settings import SessionsSettings
from tests.app.sessions.conftest import Callers


async def age_rows(app: FastAPI, model: type, column: str, conversation_id: str, by: timedelta) -> None:
    """Move a conversation's rows back in time (the jobs compare against the clock)."""
    database: Database = app.state.database
    table = model.__table__
    key = "id" if model is Conversation else "conversation_id"
    statement = text(
        f"UPDATE {table.schema}.{table.name} SET {column} = {column} - make_interval(secs => :seconds) "
        f"WHERE {key} = :conversation_id"
    )
    async with database.transaction() as session:
        await session.execute(statement, {"seconds": by.total_seconds(), "conversation_id": UUID(conversation_id)})


async def count(app: FastAPI, model: type, conversation_id: str) -> int:
    database: Database = app.state.database
    key = model.conversation_id if model is not Conversation else model.id
    async with database.transaction() as session:
        return await session.scalar(select(func.count()).select_from(model).where(key == UUID(conversation_id))) or 0


async def test_answers_left_streaming_by_a_dead_chat_become_partial(
    callers: Callers, tenant: UUID, sessions_app: FastAPI
) -> None:
    customer = callers.api_key(tenant)
    old, fresh = await customer.conversation(), await customer.conversation()
    old_turn = await customer.turn(old["id"])
    await customer.turn(fresh["id"])
    await age_rows(sessions_app, Message, "created_at", old["id"], timedelta(hours=1))
    jobs: Housekeeping = sessions_app.state.housekeeping
    result = await jobs.sweep()
    assert result.abandoned_answers == 1
    statuses = {
        conversation["id"]: [
            m["status"] for m in (await customer.get(f"/conversations/{conversation['id']}/messages")).json()["items"]
        ]
        for conversation in (old, fresh)
    }
    assert statuses == {old["id"]: ["complete", "partial"], fresh["id"]: ["complete", "streaming"]}
    # A chat process that was only slow can still deliver the text it streamed.
    late = await customer.post(
        f"/conversations/{old['id']}/messages/{old_turn['assistant_message']['id']}:finish",
        {"content": "Late but complete.", "status": "complete"},
    )
    assert late.json()["content"] == "Late but complete."


async def test_idempotency_keys_expire(callers: Callers, tenant: UUID, sessions_app: FastAPI) -> None:
    customer = callers.api_key(tenant)
    conversation = await customer.conversation()
    await customer.turn(conversation["id"], "hi", idempotency_key="k")
    await age_rows(sessions_app, IdempotencyKey, "created_at", conversation["id"], timedelta(hours=25))
    assert (await sessions_app.state.housekeeping.sweep()).expired_keys == 1
    assert (await customer.turn(conversation["id"], "hi", idempotency_key="k"))["replayed"] is False


async def test_retention_deletes_only_old_ended_conversations(
    callers: Callers, sessions_app: FastAPI, sessions_settings: SessionsSettings
) -> None:
    short_tenant, normal_tenant = uuid4(), uuid4()
    settings = sessions_settings.model_copy(update={"tenant_retention_days": {short_tenant: 7}})
    jobs = Housekeeping(sessions_app.state.database, settings)

    async def ended(tenant: UUID, age_days: int, *, close: bool = True) -> str:
        customer = callers.api_key(tenant)
        conversation = await customer.conversation()
        await customer.answer(conversation["id"])
        if close:
            await customer.post(f"/conversations/{conversation['id']}/close")
        await age_rows(sessions_app, Conversation, "updated_at", conversation["id"], timedelta(days=age_days))
        return conversation["id"]

    gone = [await ended(normal_tenant, 91), await ended(short_tenant, 8)]
    kept = [await ended(normal_tenant, 30), await ended(short_tenant, 6), await ended(normal_tenant, 200, close=False)]
    assert await jobs.enforce_retention() == 2
    for conversation_id in gone:
        assert await count(sessions_app, Conversation, conversation_id) == 0
        assert await count(sessions_app, Message, conversation_id) == 0  # cascaded
    for conversation_id in kept:
        assert await count(sessions_app, Conversation, conversation_id) == 1
