"""An end user's conversations, messages, feedback and lifecycle events: exported, or erased from every table
and from the JetStream stream.

Events carry no ``customer_ref``; they name the conversation. The envelope is serialised once, by us
(``app.events.catalog.envelope``, compact JSON), so an event of a conversation is found by its exact
``"conversation_id":"<id>"`` fragment, in the outbox, the webhook delivery log and the stream alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.data_rights import ConversationRecord, SessionsErasure, SessionsExport
from app.sessions.models import Conversation, Csat, Feedback, Message, OutboxEvent, WebhookDelivery
from app.sessions.views import conversation_view, csat_view, feedback_view, message_view

#: Conversation ids per LIKE disjunction: keeps each statement small on a subject with many conversations.
_BATCH = 100


def event_fragment(conversation_id: UUID) -> str:
    return f'"conversation_id":"{conversation_id}"'


def _batches(ids: Sequence[UUID]) -> list[Sequence[UUID]]:
    return [ids[start : start + _BATCH] for start in range(0, len(ids), _BATCH)]


def _names_any(body: Any, ids: Sequence[UUID]) -> ColumnElement[bool]:
    return or_(*(body.contains(event_fragment(conversation_id), autoescape=True) for conversation_id in ids))


async def conversation_ids(session: AsyncSession, tenant_id: UUID, customer_ref: str) -> list[UUID]:
    rows = await session.scalars(
        select(Conversation.id)
        .where(Conversation.tenant_id == tenant_id, Conversation.customer_ref == customer_ref)
        .order_by(Conversation.id)
    )
    return list(rows)


async def export(session: AsyncSession, tenant_id: UUID, customer_ref: str) -> SessionsExport:
    ids = await conversation_ids(session, tenant_id, customer_ref)
    records: list[ConversationRecord] = []
    for conversation_id in ids:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        messages = (
            await session.scalars(
                select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
            )
        ).all()
        feedback = (
            await session.scalars(
                select(Feedback)
                .join(Message, Message.id == Feedback.message_id)
                .where(Message.conversation_id == conversation_id)
                .order_by(Feedback.message_id)
            )
        ).all()
        csat = await session.get(Csat, conversation_id)
        records.append(
            ConversationRecord(
                conversation=conversation_view(conversation),
                messages=[message_view(row) for row in messages],
                feedback=[feedback_view(row) for row in feedback],
                csat=csat_view(csat) if csat is not None else None,
            )
        )
    events: list[dict[str, Any]] = []
    for batch in _batches(ids):
        bodies = await session.scalars(
            select(OutboxEvent.body)
            .where(OutboxEvent.tenant_id == tenant_id, _names_any(OutboxEvent.body, batch))
            .order_by(OutboxEvent.id)
        )
        events.extend(orjson.loads(body) for body in bodies)
    return SessionsExport(conversations=records, events=events)


async def erase(session: AsyncSession, tenant_id: UUID, ids: Sequence[UUID]) -> SessionsErasure:
    """Delete the conversations (with their messages, feedback, CSAT and idempotency keys) and their events' rows.

    The stream is swept after the commit (``EventsRuntime.forget``), so ``stream_messages`` is 0 here.
    """
    messages = feedback = events = deliveries = 0
    for batch in _batches(ids):
        messages += await _count(session, select(func.count()).where(Message.conversation_id.in_(batch)))
        feedback += await _count(
            session,
            select(func.count())
            .select_from(Feedback)
            .join(Message, Message.id == Feedback.message_id)
            .where(Message.conversation_id.in_(batch)),
        )
        result = await session.execute(
            delete(OutboxEvent)
            .where(OutboxEvent.tenant_id == tenant_id, _names_any(OutboxEvent.body, batch))
            .execution_options(synchronize_session=False)
        )
        events += result.rowcount or 0  # type: ignore[attr-defined]
        result = await session.execute(
            delete(WebhookDelivery)
            .where(WebhookDelivery.tenant_id == tenant_id, _names_any(WebhookDelivery.body, batch))
            .execution_options(synchronize_session=False)
        )
        deliveries += result.rowcount or 0  # type: ignore[attr-defined]
    conversations = 0
    for batch in _batches(ids):
        result = await session.execute(
            delete(Conversation)
            .where(Conversation.tenant_id == tenant_id, Conversation.id.in_(batch))
            .execution_options(synchronize_session=False)
        )
        conversations += result.rowcount or 0  # type: ignore[attr-defined]
    return SessionsErasure(
        conversations=conversations,
        messages=messages,
        feedback=feedback,
        events=events,
        webhook_deliveries=deliveries,
        stream_messages=0,
    )


async def _count(session: AsyncSession, query: Any) -> int:
    return int((await session.execute(query)).scalar_one())
