"""Curated answers (Dify's "annotation replies"): an admin pins the exact answer to a question.

Matching is on normalised text (case, punctuation, spacing ignored): ``exact`` when the whole message is the
question, ``contains`` when the question occurs inside it. The longest matching question wins, so a specific
pin beats a general one.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts import problems
from app.contracts.knowledge import CuratedAnswer, CuratedAnswerWrite, CuratedMatch
from app.core.errors import ProblemError
from app.knowledge.errors import NotFoundError
from app.knowledge.models import CuratedAnswer as CuratedRow
from app.knowledge.terms import normalize_question

MAX_CURATED_PER_TENANT = 1000


class DuplicateQuestionError(ProblemError):
    problem = problems.CONFLICT


def _view(row: CuratedRow) -> CuratedAnswer:
    return CuratedAnswer(
        id=row.id,
        question=row.question,
        answer=row.answer,
        match="contains" if row.match == "contains" else "exact",
        created_at=row.created_at,
    )


async def create_curated(session: AsyncSession, tenant_id: UUID, body: CuratedAnswerWrite) -> CuratedAnswer:
    normalized = normalize_question(body.question)
    if not normalized:
        raise ProblemError.of(problems.VALIDATION_ERROR, "The question has no words.")
    row = CuratedRow(
        tenant_id=tenant_id,
        question=body.question,
        normalized_question=normalized,
        answer=body.answer,
        match=body.match,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as exc:
        raise DuplicateQuestionError("A curated answer for this question exists; delete it first.") from exc
    return _view(row)


async def list_curated(session: AsyncSession, tenant_id: UUID) -> list[CuratedAnswer]:
    rows = await session.scalars(
        select(CuratedRow)
        .where(CuratedRow.tenant_id == tenant_id)
        .order_by(CuratedRow.id)
        .limit(MAX_CURATED_PER_TENANT)
    )
    return [_view(row) for row in rows]


async def delete_curated(session: AsyncSession, tenant_id: UUID, curated_id: UUID) -> None:
    result = await session.execute(
        delete(CuratedRow).where(CuratedRow.tenant_id == tenant_id, CuratedRow.id == curated_id)
    )
    if not getattr(result, "rowcount", 0):
        raise NotFoundError("No such curated answer.")


async def match_curated(session: AsyncSession, tenant_id: UUID, message: str) -> CuratedMatch | None:
    normalized = normalize_question(message)
    if not normalized:
        return None
    rows = await session.scalars(
        select(CuratedRow).where(CuratedRow.tenant_id == tenant_id).limit(MAX_CURATED_PER_TENANT)
    )
    padded = f" {normalized} "
    best: CuratedRow | None = None
    for row in rows:
        hit = row.normalized_question == normalized or (
            row.match == "contains" and f" {row.normalized_question} " in padded
        )
        if hit and (best is None or len(row.normalized_question) > len(best.normalized_question)):
            best = row
    return None if best is None else CuratedMatch(id=best.id, question=best.question, answer=best.answer)
