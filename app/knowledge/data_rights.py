"""What knowledge holds about an end user: their unanswered questions behind content gaps (``content_gap_asks``).

Nothing else here comes from end users: articles, passages (with their full-text ``tsvector`` and pgvector
embedding), curated answers and settings are the tenant's own content. Erasing asks rewords each gap they were
behind to the latest remaining ask, or removes the gap when none remains (its count included asks recorded before
asks were kept, which cannot be told apart).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.data_rights import GapAskRecord, KnowledgeErasure, KnowledgeExport
from app.knowledge.models import ContentGap, ContentGapAsk


async def export(session: AsyncSession, tenant_id: UUID, ids: Sequence[UUID]) -> KnowledgeExport:
    asks = await session.scalars(
        select(ContentGapAsk)
        .where(ContentGapAsk.tenant_id == tenant_id, ContentGapAsk.conversation_id.in_(ids))
        .order_by(ContentGapAsk.id)
    )
    return KnowledgeExport(
        content_gap_asks=[
            GapAskRecord(conversation_id=ask.conversation_id, question=ask.question, asked_at=ask.asked_at)
            for ask in asks
        ]
    )


async def erase(session: AsyncSession, tenant_id: UUID, ids: Sequence[UUID]) -> KnowledgeErasure:
    erased = (
        await session.scalars(
            delete(ContentGapAsk)
            .where(ContentGapAsk.tenant_id == tenant_id, ContentGapAsk.conversation_id.in_(ids))
            .returning(ContentGapAsk.normalized_question)
            .execution_options(synchronize_session=False)
        )
    ).all()
    removed = reworded = 0
    for normalized in sorted(set(erased)):
        gap = await session.get(ContentGap, (tenant_id, normalized))
        if gap is None:
            continue
        latest = await session.scalar(
            select(ContentGapAsk)
            .where(ContentGapAsk.tenant_id == tenant_id, ContentGapAsk.normalized_question == normalized)
            .order_by(ContentGapAsk.id.desc())
            .limit(1)
        )
        if latest is None:
            await session.delete(gap)
            removed += 1
            continue
        gap.asked = max(1, gap.asked - erased.count(normalized))
        if gap.question != latest.question:
            gap.question, gap.last_asked_at = latest.question, latest.asked_at
            reworded += 1
    return KnowledgeErasure(content_gap_asks=len(erased), content_gaps_removed=removed, content_gaps_reworded=reworded)
