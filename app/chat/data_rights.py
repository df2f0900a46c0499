"""What chat holds about an end user's conversations (classifications, guardrail decisions, usage, the PII vault):
exported, or erased. Usage rows stay for billing (tokens per key and day) with their conversation unlinked."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import delete, select, update

from app.chat.models import GuardrailEventRow, MessageClassification, PiiVault, UsageRecord
from app.chat.safety import TurnSafety
from app.contracts.data_rights import ChatErasure, ChatExport, ClassificationRecord, UsageRecordView
from app.core.db import Database


async def export(database: Database, safety: TurnSafety, tenant_id: UUID, ids: Sequence[UUID]) -> ChatExport:
    async with database.transaction() as session:
        classifications = (
            await session.scalars(
                select(MessageClassification)
                .where(MessageClassification.tenant_id == tenant_id, MessageClassification.conversation_id.in_(ids))
                .order_by(MessageClassification.created_at)
            )
        ).all()
        usage = (
            await session.scalars(
                select(UsageRecord)
                .where(UsageRecord.tenant_id == tenant_id, UsageRecord.conversation_id.in_(ids))
                .order_by(UsageRecord.id)
            )
        ).all()
    guardrail_events = [
        event for conversation_id in ids for event in await safety.events.list(tenant_id, conversation_id)
    ]
    pii_values: dict[str, dict[str, str]] = {}
    for conversation_id in ids:
        placeholders = await safety.vaults.load(tenant_id, conversation_id)
        if placeholders.values:
            pii_values[str(conversation_id)] = dict(placeholders.values)
    return ChatExport(
        classifications=[
            ClassificationRecord(
                conversation_id=row.conversation_id,
                message_id=row.message_id,
                intent=row.intent,
                emotion=row.emotion,
                created_at=row.created_at,
            )
            for row in classifications
        ],
        guardrail_events=guardrail_events,
        usage=[
            UsageRecordView(
                conversation_id=row.conversation_id,
                message_id=row.message_id,
                kind=row.kind,
                model=row.model,
                prompt_tokens=row.prompt_tokens,
                completion_tokens=row.completion_tokens,
                created_at=row.created_at,
            )
            for row in usage
        ],
        pii_values=pii_values,
    )


async def erase(database: Database, tenant_id: UUID, ids: Sequence[UUID]) -> ChatErasure:
    async with database.transaction() as session:

        async def removed(model: type[MessageClassification | GuardrailEventRow | PiiVault]) -> int:
            result = await session.execute(
                delete(model)
                .where(model.tenant_id == tenant_id, model.conversation_id.in_(ids))
                .execution_options(synchronize_session=False)
            )
            return result.rowcount or 0  # type: ignore[attr-defined]

        classifications = await removed(MessageClassification)
        guardrail_events = await removed(GuardrailEventRow)
        vaults = await removed(PiiVault)
        unlinked = await session.execute(
            update(UsageRecord)
            .where(UsageRecord.tenant_id == tenant_id, UsageRecord.conversation_id.in_(ids))
            .values(conversation_id=None, message_id=None)
            .execution_options(synchronize_session=False)
        )
    return ChatErasure(
        classifications=classifications,
        guardrail_events=guardrail_events,
        pii_vaults=vaults,
        usage_records_unlinked=unlinked.rowcount or 0,  # type: ignore[attr-defined]
    )
