"""Per-tenant knowledge settings (the "I don't know" threshold) and content gaps (questions left unanswered)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.knowledge import ContentGap, KnowledgeSettings
from app.core.db import utcnow
from app.knowledge.models import ContentGap as GapRow
from app.knowledge.models import ContentGapAsk as GapAsk
from app.knowledge.models import TenantSettings
from app.knowledge.terms import normalize_question

MAX_GAPS_LISTED = 100


async def threshold_of(session: AsyncSession, tenant_id: UUID, default: float) -> float:
    row = await session.get(TenantSettings, tenant_id)
    return default if row is None else row.min_similarity


async def put_settings(session: AsyncSession, tenant_id: UUID, body: KnowledgeSettings) -> KnowledgeSettings:
    row = await session.get(TenantSettings, tenant_id)
    if row is None:
        row = TenantSettings(tenant_id=tenant_id, min_similarity=body.min_similarity)
        session.add(row)
    row.min_similarity = body.min_similarity
    row.updated_at = utcnow()
    return body


async def record_gap(
    session: AsyncSession, tenant_id: UUID, question: str, conversation_id: UUID | None = None
) -> None:
    """Count one more unanswered ask of this question (normalised, so rephrasings by case or punctuation merge)."""
    normalized = normalize_question(question) or question[:500]
    if conversation_id is not None:
        session.add(
            GapAsk(
                tenant_id=tenant_id, normalized_question=normalized, conversation_id=conversation_id, question=question
            )
        )
    row = await session.get(GapRow, (tenant_id, normalized))
    if row is None:
        session.add(GapRow(tenant_id=tenant_id, normalized_question=normalized, question=question, asked=1))
        return
    row.asked += 1
    row.question = question
    row.last_asked_at = utcnow()


async def list_gaps(session: AsyncSession, tenant_id: UUID) -> list[ContentGap]:
    rows = await session.scalars(
        select(GapRow)
        .where(GapRow.tenant_id == tenant_id)
        .order_by(GapRow.asked.desc(), GapRow.last_asked_at.desc())
        .limit(MAX_GAPS_LISTED)
    )
    return [ContentGap(question=row.question, asked=row.asked, last_asked_at=row.last_asked_at) for row in rows]
