"""The sessions schema: conversations, messages, feedback on answers, and idempotency keys of customer turns.

Ids are UUIDv7 (time-ordered): messages page by id, and an id's order is its creation order. Every table
carries ``tenant_id`` so each query filters by it directly (no join needed to enforce tenancy).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import JSON, ForeignKey, ForeignKeyConstraint, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.contracts.api import ConversationStatus, MessageRole, MessageStatus, Rating
from app.core.db import UtcDateTime, service_metadata, string_enum, utcnow
from app.core.ids import uuid7

SCHEMA = "sessions"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # The agent desk: a tenant's conversations in one status, longest in that status first.
        Index(None, "tenant_id", "status", "status_changed_at", "id"),
        # A customer's own conversations (widget users see only theirs).
        Index(None, "tenant_id", "customer_ref"),
        # Retention: terminal conversations by age.
        Index(None, "status", "updated_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    tenant_id: Mapped[UUID]
    customer_ref: Mapped[str | None] = mapped_column(String(128))
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    status: Mapped[ConversationStatus] = mapped_column(
        string_enum(ConversationStatus, "conversation_status"), default=ConversationStatus.BOT
    )
    assigned_agent_id: Mapped[UUID | None]
    handoff_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index(None, "conversation_id", "id"),
        # The sweeper's scan: only answers still streaming (a handful at any time) are in this index.
        Index(
            "ix_messages_streaming",
            "created_at",
            postgresql_where=text("status = 'streaming'"),
            sqlite_where=text("status = 'streaming'"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    conversation_id: Mapped[UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    tenant_id: Mapped[UUID]
    role: Mapped[MessageRole] = mapped_column(string_enum(MessageRole, "message_role"))
    content: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[MessageStatus] = mapped_column(
        string_enum(MessageStatus, "message_status"), default=MessageStatus.COMPLETE
    )
    prompt_tokens: Mapped[int | None]
    completion_tokens: Mapped[int | None]
    finish_reason: Mapped[str | None] = mapped_column(String(32))
    #: Why an answer is partial (engine error, disconnect, swept): for support, never shown to customers.
    error: Mapped[str | None] = mapped_column(String(500))
    #: The citations of a grounded answer (``api.Citation`` as JSON), empty otherwise.
    sources: Mapped[list[dict[str, str | None]]] = mapped_column(JSON, default=list)
    #: The assistant said it could not answer from the tenant's knowledge (and offered a person).
    no_answer: Mapped[bool] = mapped_column(default=False)
    #: The degradation level the answer was given on (``api.Degradation``); None: normal.
    degradation: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Feedback(Base):
    __tablename__ = "feedback"

    message_id: Mapped[UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[UUID]
    rating: Mapped[Rating] = mapped_column(string_enum(Rating, "rating", length=8))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Csat(Base):
    """A customer's 1-5 rating of a finished conversation; rating again replaces it."""

    __tablename__ = "csat"

    conversation_id: Mapped[UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[UUID]
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class IdempotencyKey(Base):
    """A customer turn posted with an ``Idempotency-Key``: a retry returns these messages instead of a new turn."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        Index(None, "created_at"),
    )

    conversation_id: Mapped[UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: SHA-256 of the request body: the same key with another body is a client bug (409), not a retry.
    request_hash: Mapped[str] = mapped_column(String(64))
    customer_message_id: Mapped[UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    assistant_message_id: Mapped[UUID | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


# --- lifecycle events (app/events): the outbox, tenants' webhooks and the delivery log ---------------------------
class OutboxEvent(Base):
    """A lifecycle event, written in the same transaction as the change it reports (the transactional outbox):
    a change without its event, or an event without its change, cannot be committed. The relay publishes it
    to JetStream with its id as ``Nats-Msg-Id`` and stamps ``published_at``."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_unpublished",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
        Index(None, "published_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)  # the event id receivers de-duplicate by
    tenant_id: Mapped[UUID]
    type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)  # the envelope, serialized once: what JetStream and webhooks carry
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Webhook(Base):
    """A tenant's endpoint for lifecycle events, with the secret its deliveries are signed with."""

    __tablename__ = "webhooks"
    __table_args__ = (Index(None, "tenant_id"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    tenant_id: Mapped[UUID]
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))  # the HMAC key: needed in clear to sign; shown once
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every type
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event for one webhook: the delivery log, the retry schedule and (status ``dead``) the dead letters."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "webhook_id"),  # an event reaches an endpoint once, however often it is read
        Index(None, "status", "next_attempt_at"),
        Index(None, "webhook_id", "id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    tenant_id: Mapped[UUID]
    webhook_id: Mapped[UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[UUID]
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
