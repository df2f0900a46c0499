"""The chat schema: tenants' assistant profiles, the usage of every engine call, and message classifications."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Float, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.core.db import UtcDateTime, service_metadata, utcnow
from app.core.ids import uuid7

SCHEMA = "chat"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class AssistantProfile(Base):
    """How a tenant's assistant answers. Tenants without a row get the configured default."""

    __tablename__ = "assistant_profiles"

    tenant_id: Mapped[UUID] = mapped_column(primary_key=True)
    system_prompt: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(200))
    temperature: Mapped[float] = mapped_column(Float)
    max_tokens: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class UsageRecord(Base):
    """Tokens of one engine call, for billing and capacity reports (the gateway meters quotas in Redis)."""

    __tablename__ = "usage_records"
    __table_args__ = (Index(None, "tenant_id", "created_at"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    tenant_id: Mapped[UUID]
    key_id: Mapped[UUID | None]
    conversation_id: Mapped[UUID | None]
    message_id: Mapped[UUID | None]
    kind: Mapped[str] = mapped_column(String(16))  # answer | classification | completion
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int]
    completion_tokens: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MessageClassification(Base):
    """The classifier's verdict on a customer message; the escalation rules read a conversation's latest ones."""

    __tablename__ = "message_classifications"
    __table_args__ = (Index(None, "conversation_id", "message_id"),)

    message_id: Mapped[UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[UUID]
    conversation_id: Mapped[UUID]
    intent: Mapped[str | None] = mapped_column(String(32))
    emotion: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
