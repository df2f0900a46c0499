"""Chat's own rows: usage of every engine call, and classifications (read back by the escalation rules)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select

from app.chat.escalation import Classification
from app.chat.models import MessageClassification, UsageRecord
from app.contracts.api import MessageClassification as ClassificationView
from app.core.db import Database


@dataclass(frozen=True)
class Usage:
    tenant_id: UUID
    key_id: UUID | None
    conversation_id: UUID | None
    message_id: UUID | None
    kind: str
    model: str
    prompt_tokens: int
    completion_tokens: int


class Records:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def add_usage(self, usage: Usage) -> None:
        async with self._database.transaction() as session:
            session.add(
                UsageRecord(
                    tenant_id=usage.tenant_id,
                    key_id=usage.key_id,
                    conversation_id=usage.conversation_id,
                    message_id=usage.message_id,
                    kind=usage.kind,
                    model=usage.model,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                )
            )

    async def classify(
        self, *, tenant_id: UUID, conversation_id: UUID, message_id: UUID, verdict: Classification, history: int
    ) -> list[Classification]:
        """Store this message's classification; returns the conversation's ``history`` previous ones, newest first."""
        async with self._database.transaction() as session:
            rows = await session.scalars(
                select(MessageClassification)
                .where(
                    MessageClassification.conversation_id == conversation_id,
                    MessageClassification.tenant_id == tenant_id,
                    MessageClassification.message_id < message_id,
                )
                .order_by(MessageClassification.message_id.desc())
                .limit(history)
            )
            previous = [Classification(row.intent, row.emotion) for row in rows]
            await session.merge(
                MessageClassification(
                    message_id=message_id,
                    tenant_id=tenant_id,
                    conversation_id=conversation_id,
                    intent=verdict.intent,
                    emotion=verdict.emotion,
                )
            )
        return previous

    async def classifications(
        self, tenant_id: UUID, conversation_id: UUID, limit: int = 500
    ) -> list[ClassificationView]:
        """The classifier's verdicts on a conversation's customer messages, oldest first (for the agent desk)."""
        async with self._database.transaction() as session:
            rows = await session.scalars(
                select(MessageClassification)
                .where(
                    MessageClassification.conversation_id == conversation_id,
                    MessageClassification.tenant_id == tenant_id,
                )
                .order_by(MessageClassification.message_id)
                .limit(limit)
            )
            return [
                ClassificationView(message_id=row.message_id, intent=row.intent, emotion=row.emotion) for row in rows
            ]
