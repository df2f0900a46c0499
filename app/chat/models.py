"""The chat schema: tenants' assistant profiles, the usage of every engine call, message classifications, and
safety (policies, encrypted PII vaults, guardrail decisions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Float, Index, LargeBinary, String, Text
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


class SafetyPolicyRow(Base):
    """A tenant's safety policy (``app.contracts.safety.SafetyPolicy`` as JSON). Tenants without a row get the
    defaults."""

    __tablename__ = "safety_policies"

    tenant_id: Mapped[UUID] = mapped_column(primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PiiVault(Base):
    """A conversation's placeholder values, AES-GCM encrypted (``app.safety.pii.vault``). ``expires_at`` is set
    under masked storage (the values serve only to restore answers) and empty when the tenant opted in to keep
    them."""

    __tablename__ = "pii_vaults"

    conversation_id: Mapped[UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[UUID]
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class GuardrailEventRow(Base):
    """One guardrail decision on a conversation, with the rule that fired (never the text that fired it)."""

    __tablename__ = "guardrail_events"
    __table_args__ = (Index(None, "conversation_id", "id"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    tenant_id: Mapped[UUID]
    conversation_id: Mapped[UUID]
    message_id: Mapped[UUID | None]
    stage: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
