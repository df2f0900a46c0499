"""Reads and writes of the sessions schema. Every query is filtered by tenant (and by customer for end users).

A conversation of another tenant, or another end user's, is simply not found: callers answer 404 either way,
so nobody learns which ids exist. Writes that must not interleave with another request on the same
conversation (a turn, a transition) lock the conversation row first (``FOR UPDATE``; SQLite serialises
writers anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.api import ConversationStatus, MessageRole, MessageStatus
from app.sessions.models import Conversation, Feedback, IdempotencyKey, Message

#: Roles that belong in a prompt's history (system notices are for people, not the model).
HISTORY_ROLES = (MessageRole.CUSTOMER, MessageRole.ASSISTANT, MessageRole.AGENT)


@dataclass(frozen=True)
class Scope:
    """Whose conversations a request may see: a tenant's, and within it one end user's for widget tokens."""

    tenant_id: UUID
    customer_ref: str | None = None


async def get_conversation(
    session: AsyncSession, scope: Scope, conversation_id: UUID, *, for_update: bool = False
) -> Conversation | None:
    query = select(Conversation).where(Conversation.id == conversation_id, Conversation.tenant_id == scope.tenant_id)
    if scope.customer_ref is not None:
        query = query.where(Conversation.customer_ref == scope.customer_ref)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def page_conversations(
    session: AsyncSession,
    tenant_id: UUID,
    status: ConversationStatus,
    *,
    assigned_to: UUID | None = None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> Sequence[Conversation]:
    """A tenant's conversations in ``status`` (assigned to one agent if given), longest in it first (the agent
    desk's queue order)."""
    query = select(Conversation).where(Conversation.tenant_id == tenant_id, Conversation.status == status)
    if assigned_to is not None:
        query = query.where(Conversation.assigned_agent_id == assigned_to)
    if after is not None:
        query = query.where(tuple_(Conversation.status_changed_at, Conversation.id) > tuple_(*after))
    query = query.order_by(Conversation.status_changed_at, Conversation.id).limit(limit)
    return (await session.scalars(query)).all()


async def page_own_conversations(
    session: AsyncSession,
    scope: Scope,
    *,
    status: ConversationStatus | None,
    before: UUID | None,
    limit: int,
) -> Sequence[Conversation]:
    """The conversations ``scope`` may see, newest first (ids are time-ordered), from just before ``before``."""
    query = select(Conversation).where(Conversation.tenant_id == scope.tenant_id)
    if scope.customer_ref is not None:
        query = query.where(Conversation.customer_ref == scope.customer_ref)
    if status is not None:
        query = query.where(Conversation.status == status)
    if before is not None:
        query = query.where(Conversation.id < before)
    return (await session.scalars(query.order_by(Conversation.id.desc()).limit(limit))).all()


async def page_messages(
    session: AsyncSession, conversation_id: UUID, *, after: UUID | None, limit: int
) -> Sequence[Message]:
    """A conversation's messages oldest first (ids are time-ordered), from just after ``after``."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    if after is not None:
        query = query.where(Message.id > after)
    return (await session.scalars(query.order_by(Message.id).limit(limit))).all()


async def history(session: AsyncSession, conversation_id: UUID, *, limit: int) -> list[tuple[MessageRole, str]]:
    """The newest ``limit`` (role, text) pairs a prompt may use (no system notices, no empty answers), oldest
    first. Plain rows, not ORM objects: this runs on every customer message, and only two columns matter."""
    query = (
        select(Message.role, Message.content)
        .where(Message.conversation_id == conversation_id, Message.role.in_(HISTORY_ROLES), Message.content != "")
        .order_by(Message.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [(row.role, row.content) for row in reversed(rows)]


async def get_message(session: AsyncSession, conversation_id: UUID, message_id: UUID) -> Message | None:
    """A message of a conversation the caller already proved it may see (the conversation carries the scope)."""
    return await session.scalar(
        select(Message).where(Message.id == message_id, Message.conversation_id == conversation_id)
    )


async def get_idempotency_key(session: AsyncSession, conversation_id: UUID, key: str) -> IdempotencyKey | None:
    return await session.get(IdempotencyKey, (conversation_id, key))


async def get_feedback(session: AsyncSession, message_id: UUID) -> Feedback | None:
    return await session.get(Feedback, message_id)


# --- housekeeping (no tenant: they run for everyone, in the background) ------------------------------------------
async def mark_stale_answers_partial(session: AsyncSession, *, started_before: datetime, now: datetime) -> int:
    """Answers still ``streaming`` since before ``started_before`` belong to a chat process that died."""
    result = await session.execute(
        update(Message)
        .where(Message.status == MessageStatus.STREAMING, Message.created_at < started_before)
        .values(status=MessageStatus.PARTIAL, error="abandoned: the answering process stopped", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def delete_expired_idempotency_keys(session: AsyncSession, *, created_before: datetime) -> int:
    result = await session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.created_at < created_before)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def delete_ended_conversations(
    session: AsyncSession,
    *,
    updated_before: datetime,
    tenant_id: UUID | None = None,
    except_tenants: Sequence[UUID] = (),
) -> int:
    """Delete closed and resolved conversations (and, by cascade, everything in them) older than a cutoff."""
    query = delete(Conversation).where(
        Conversation.status.in_((ConversationStatus.CLOSED, ConversationStatus.RESOLVED)),
        Conversation.updated_at < updated_before,
    )
    if tenant_id is not None:
        query = query.where(Conversation.tenant_id == tenant_id)
    if except_tenants:
        query = query.where(Conversation.tenant_id.not_in(except_tenants))
    result = await session.execute(query.execution_options(synchronize_session=False))
    return result.rowcount or 0  # type: ignore[attr-defined]
