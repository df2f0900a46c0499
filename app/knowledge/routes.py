"""Knowledge's HTTP API (internal: the gateway forwards ``/v1/knowledge/*`` here; chat calls ``retrieve``).

Every route needs an identity token with the route's scope, and every query filters by its tenant: another
tenant's article or curated answer is a 404 like a missing one.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status

from app.contracts import problems
from app.contracts.api import MAX_PAGE_SIZE
from app.contracts.data_rights import ConversationIds, KnowledgeErasure, KnowledgeExport
from app.contracts.knowledge import (
    Article,
    ArticleCreate,
    ArticlePage,
    ArticleStatus,
    ArticleVersion,
    ArticleWrite,
    ContentGap,
    CuratedAnswer,
    CuratedAnswerWrite,
    ImportResult,
    KnowledgeSettings,
    Retrieval,
    RetrieveRequest,
    UnansweredQuestion,
)
from app.core.db import DbSession
from app.core.errors import ProblemError
from app.knowledge import curated, data_rights, tenant_settings
from app.knowledge.dependencies import Admin, Customer, DataAdmin, KnowledgeDep
from app.knowledge.importer import files_of_archive, import_files

router = APIRouter(prefix="/internal/v1/knowledge")

MAX_IMPORT_BYTES = 10 * 1024 * 1024
ARCHIVE_TYPES = (
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/x-tar",
    "application/octet-stream",
)


# --- articles -----------------------------------------------------------------------------------------------------
@router.post("/articles", status_code=status.HTTP_201_CREATED, tags=["knowledge"])
async def create_article(body: ArticleCreate, identity: Admin, session: DbSession, knowledge: KnowledgeDep) -> Article:
    article = await knowledge.articles.create(session, identity.tenant_id, body)
    return await knowledge.articles.view(session, article)


@router.get("/articles", tags=["knowledge"])
async def list_articles(
    *,
    identity: Admin,
    session: DbSession,
    knowledge: KnowledgeDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[UUID | None, Query(description="next_cursor of the previous page.")] = None,
    status_filter: Annotated[ArticleStatus | None, Query(alias="status")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Only articles whose title or body contains it.")
    ] = None,
) -> ArticlePage:
    return await knowledge.articles.list(
        session, identity.tenant_id, limit=limit, cursor=cursor, status=status_filter, query=q
    )


@router.get("/articles/{article_id}", tags=["knowledge"])
async def get_article(article_id: UUID, identity: Admin, session: DbSession, knowledge: KnowledgeDep) -> Article:
    article = await knowledge.articles.get(session, identity.tenant_id, article_id)
    return await knowledge.articles.view(session, article)


@router.put("/articles/{article_id}", tags=["knowledge"])
async def update_article(
    article_id: UUID, body: ArticleWrite, identity: Admin, session: DbSession, knowledge: KnowledgeDep
) -> Article:
    article = await knowledge.articles.update(session, identity.tenant_id, article_id, body)
    return await knowledge.articles.view(session, article)


@router.post("/articles/{article_id}/publish", tags=["knowledge"])
async def publish_article(article_id: UUID, identity: Admin, session: DbSession, knowledge: KnowledgeDep) -> Article:
    article = await knowledge.articles.set_status(session, identity.tenant_id, article_id, ArticleStatus.PUBLISHED)
    return await knowledge.articles.view(session, article)


@router.post("/articles/{article_id}/unpublish", tags=["knowledge"])
async def unpublish_article(article_id: UUID, identity: Admin, session: DbSession, knowledge: KnowledgeDep) -> Article:
    article = await knowledge.articles.set_status(session, identity.tenant_id, article_id, ArticleStatus.DRAFT)
    return await knowledge.articles.view(session, article)


@router.delete("/articles/{article_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["knowledge"])
async def delete_article(article_id: UUID, identity: Admin, session: DbSession, knowledge: KnowledgeDep) -> Response:
    await knowledge.articles.delete(session, identity.tenant_id, article_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/articles/{article_id}/versions", tags=["knowledge"])
async def list_versions(
    article_id: UUID, identity: Admin, session: DbSession, knowledge: KnowledgeDep
) -> list[ArticleVersion]:
    return await knowledge.articles.versions(session, identity.tenant_id, article_id)


@router.post("/imports", tags=["knowledge"])
async def import_archive(
    request: Request,
    identity: Admin,
    session: DbSession,
    knowledge: KnowledgeDep,
    publish: Annotated[bool, Query(description="Publish imported articles (front matter `status` wins).")] = True,
) -> ImportResult:
    """A zip or tar(.gz) of Markdown/HTML files; files update the article with the same path (idempotent)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ARCHIVE_TYPES:
        raise ProblemError.of(
            problems.UNSUPPORTED_MEDIA_TYPE, f"Send the archive as one of {', '.join(ARCHIVE_TYPES)}."
        )
    data = await request.body()
    if len(data) > MAX_IMPORT_BYTES:
        raise ProblemError.of(problems.PAYLOAD_TOO_LARGE, f"Archives are limited to {MAX_IMPORT_BYTES} bytes.")
    files = files_of_archive(data)
    return await import_files(session, knowledge.articles, identity.tenant_id, files, publish=publish)


# --- curated answers, settings, gaps --------------------------------------------------------------------------------
@router.post("/curated-answers", status_code=status.HTTP_201_CREATED, tags=["knowledge"])
async def create_curated_answer(body: CuratedAnswerWrite, identity: Admin, session: DbSession) -> CuratedAnswer:
    return await curated.create_curated(session, identity.tenant_id, body)


@router.get("/curated-answers", tags=["knowledge"])
async def list_curated_answers(identity: Admin, session: DbSession) -> list[CuratedAnswer]:
    return await curated.list_curated(session, identity.tenant_id)


@router.delete("/curated-answers/{curated_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["knowledge"])
async def delete_curated_answer(curated_id: UUID, identity: Admin, session: DbSession) -> Response:
    await curated.delete_curated(session, identity.tenant_id, curated_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/settings", tags=["knowledge"])
async def get_settings(request: Request, identity: Admin, session: DbSession) -> KnowledgeSettings:
    default = request.app.state.settings.min_similarity
    return KnowledgeSettings(min_similarity=await tenant_settings.threshold_of(session, identity.tenant_id, default))


@router.put("/settings", tags=["knowledge"])
async def put_settings(body: KnowledgeSettings, identity: Admin, session: DbSession) -> KnowledgeSettings:
    return await tenant_settings.put_settings(session, identity.tenant_id, body)


@router.get("/gaps", tags=["knowledge"])
async def list_gaps(identity: Admin, session: DbSession) -> list[ContentGap]:
    """Questions the assistant could not answer from the knowledge base, most asked first."""
    return await tenant_settings.list_gaps(session, identity.tenant_id)


# --- chat's routes --------------------------------------------------------------------------------------------------
@router.post("/retrieve", tags=["chat"])
async def retrieve(body: RetrieveRequest, identity: Customer, session: DbSession, knowledge: KnowledgeDep) -> Retrieval:
    return await knowledge.retriever.retrieve(session, identity.tenant_id, body)


@router.post("/gaps", status_code=status.HTTP_204_NO_CONTENT, tags=["chat"])
async def record_gap(body: UnansweredQuestion, identity: Customer, session: DbSession) -> Response:
    await tenant_settings.record_gap(session, identity.tenant_id, body.question, body.conversation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- data rights: the gateway's /v1/data-subjects calls these with the admin's identity ---------------------------
@router.post("/data-subjects:export", tags=["data rights"])
async def export_subject(body: ConversationIds, identity: DataAdmin, session: DbSession) -> KnowledgeExport:
    return await data_rights.export(session, identity.tenant_id, body.conversation_ids)


@router.post("/data-subjects:erase", tags=["data rights"])
async def erase_subject(body: ConversationIds, identity: DataAdmin, session: DbSession) -> KnowledgeErasure:
    return await data_rights.erase(session, identity.tenant_id, body.conversation_ids)
