"""Articles: create, update, publish, unpublish, delete, list, search; each change a new version.

Every read and write names the tenant; another tenant's article is "not found", the same as a missing one.
Passages follow in the same transaction (``Indexer``): a published article is retrievable as soon as the
request returns, and a deleted or unpublished one is gone from retrieval at that moment.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.knowledge import Article as ArticleView
from app.contracts.knowledge import (
    ArticleCreate,
    ArticlePage,
    ArticleStatus,
    ArticleVersion,
    ArticleWrite,
)
from app.core.db import utcnow
from app.knowledge.errors import NotFoundError
from app.knowledge.indexing import Indexer
from app.knowledge.models import Article, Passage
from app.knowledge.models import ArticleVersion as VersionRow

CONTENT_FIELDS = ("title", "body", "format", "url", "language", "tags", "source_path")


class ArticleService:
    def __init__(self, indexer: Indexer) -> None:
        self._indexer = indexer

    async def _get(self, session: AsyncSession, tenant_id: UUID, article_id: UUID) -> Article:
        article = await session.scalar(
            select(Article).where(Article.tenant_id == tenant_id, Article.id == article_id).with_for_update()
        )
        if article is None:
            raise NotFoundError("No such article.")
        return article

    async def view(self, session: AsyncSession, article: Article) -> ArticleView:
        passages = await session.scalar(select(func.count()).where(Passage.article_id == article.id))
        return ArticleView(
            id=article.id,
            title=article.title,
            body=article.body,
            format=article.format,
            url=article.url,
            language=article.language,
            tags=list(article.tags),
            source_path=article.source_path,
            status=article.status,
            version=article.version,
            passages=passages or 0,
            created_at=article.created_at,
            updated_at=article.updated_at,
        )

    @staticmethod
    def _snapshot(session: AsyncSession, article: Article) -> None:
        session.add(
            VersionRow(
                article_id=article.id,
                version=article.version,
                tenant_id=article.tenant_id,
                title=article.title,
                body=article.body,
                status=article.status,
            )
        )

    async def create(self, session: AsyncSession, tenant_id: UUID, body: ArticleCreate) -> Article:
        article = Article(tenant_id=tenant_id, version=1, **body.model_dump(exclude={"status"}), status=body.status)
        session.add(article)
        await session.flush()
        self._snapshot(session, article)
        await self._indexer.reindex(session, article)
        return article

    async def get(self, session: AsyncSession, tenant_id: UUID, article_id: UUID) -> Article:
        return await self._get(session, tenant_id, article_id)

    async def update(self, session: AsyncSession, tenant_id: UUID, article_id: UUID, body: ArticleWrite) -> Article:
        article = await self._get(session, tenant_id, article_id)
        return await self.apply(session, article, body, status=article.status)

    async def apply(
        self, session: AsyncSession, article: Article, body: ArticleWrite, *, status: ArticleStatus
    ) -> Article:
        """Write ``body`` and ``status`` over the article; a new version and a re-index only if anything changed."""
        values = body.model_dump(include=set(CONTENT_FIELDS))
        if body.source_path is None:
            values.pop("source_path")  # an update without a path keeps the one it was imported from
        if all(getattr(article, key) == value for key, value in values.items()) and article.status == status:
            return article
        for key, value in values.items():
            setattr(article, key, value)
        article.status = status
        article.version += 1
        article.updated_at = utcnow()
        self._snapshot(session, article)
        await self._indexer.reindex(session, article)
        return article

    async def set_status(
        self, session: AsyncSession, tenant_id: UUID, article_id: UUID, status: ArticleStatus
    ) -> Article:
        article = await self._get(session, tenant_id, article_id)
        if article.status == status:
            return article
        article.status = status
        article.version += 1
        article.updated_at = utcnow()
        self._snapshot(session, article)
        await self._indexer.reindex(session, article)
        return article

    async def delete(self, session: AsyncSession, tenant_id: UUID, article_id: UUID) -> None:
        article = await self._get(session, tenant_id, article_id)
        await self._indexer.remove(session, article)
        await session.delete(article)

    async def list(
        self,
        session: AsyncSession,
        tenant_id: UUID,
        *,
        limit: int,
        cursor: UUID | None,
        status: ArticleStatus | None,
        query: str | None,
    ) -> ArticlePage:
        statement = select(Article).where(Article.tenant_id == tenant_id).order_by(Article.id).limit(limit + 1)
        if cursor is not None:
            statement = statement.where(Article.id > cursor)
        if status is not None:
            statement = statement.where(Article.status == status)
        if query:
            pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            statement = statement.where(
                or_(Article.title.ilike(pattern, escape="\\"), Article.body.ilike(pattern, escape="\\"))
            )
        rows = list(await session.scalars(statement))
        page = rows[:limit]
        items = [await self.view(session, row) for row in page]
        return ArticlePage(items=items, next_cursor=str(page[-1].id) if len(rows) > limit else None)

    async def versions(self, session: AsyncSession, tenant_id: UUID, article_id: UUID) -> list[ArticleVersion]:
        await self._get(session, tenant_id, article_id)
        rows = await session.scalars(
            select(VersionRow)
            .where(VersionRow.tenant_id == tenant_id, VersionRow.article_id == article_id)
            .order_by(VersionRow.version.desc())
        )
        return [
            ArticleVersion(version=r.version, title=r.title, body=r.body, status=r.status, created_at=r.created_at)
            for r in rows
        ]
