"""Retrieval for a question: keyword and vector candidates, fused, filtered, cut to a token budget.

The answerability verdict rests on the best cosine similarity among the passages returned, compared with the
tenant's threshold: ranks say which passages are best, not whether the best is any good. A curated answer whose
question matches wins over everything (chat serves it without calling the model).
"""

from __future__ import annotations

import time
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.knowledge import Retrieval, RetrievalMethod, RetrievedPassage, RetrieveRequest
from app.core.metrics import METRICS
from app.knowledge.curated import match_curated
from app.knowledge.embeddings import EmbeddingClient, cosine
from app.knowledge.fusion import reciprocal_rank_fusion
from app.knowledge.models import Article, Passage
from app.knowledge.search import Hit, PassageIndex
from app.knowledge.settings import KnowledgeSettings
from app.knowledge.tenant_settings import threshold_of


class Retriever:
    def __init__(self, settings: KnowledgeSettings, index: PassageIndex, embeddings: EmbeddingClient) -> None:
        self._settings = settings
        self._index = index
        self._embeddings = embeddings

    async def retrieve(self, session: AsyncSession, tenant_id: UUID, request: RetrieveRequest) -> Retrieval:
        started = time.perf_counter()
        curated = await match_curated(session, tenant_id, request.query)
        threshold = await threshold_of(session, tenant_id, self._settings.min_similarity)
        embedding = await self._embeddings.embed_one(request.query)
        ranked = await self._ranked(session, tenant_id, request, embedding)
        passages = await self._hydrate(session, tenant_id, ranked, embedding, request)
        best = max((p.similarity for p in passages if p.similarity is not None), default=None)
        METRICS.retrieval_duration_seconds.labels(method=request.method.value).observe(time.perf_counter() - started)
        return Retrieval(
            passages=passages,
            answerable=best is not None and best >= threshold,
            best_similarity=best,
            threshold=threshold,
            curated=curated,
        )

    async def _ranked(
        self, session: AsyncSession, tenant_id: UUID, request: RetrieveRequest, embedding: list[float]
    ) -> list[tuple[UUID, float]]:
        n = max(self._settings.candidates_per_method, request.limit)
        keyword: list[Hit] = []
        vector: list[Hit] = []
        if request.method in (RetrievalMethod.KEYWORD, RetrievalMethod.HYBRID):
            keyword = await self._index.keyword(session, tenant_id, request.query, request.language, n)
        if request.method in (RetrievalMethod.VECTOR, RetrievalMethod.HYBRID):
            vector = await self._index.vector(session, tenant_id, embedding, request.language, n)
        if request.method == RetrievalMethod.KEYWORD:
            return [(hit.passage_id, hit.score) for hit in keyword]
        if request.method == RetrievalMethod.VECTOR:
            return [(hit.passage_id, hit.score) for hit in vector]
        return reciprocal_rank_fusion(
            [[hit.passage_id for hit in keyword], [hit.passage_id for hit in vector]], k=self._settings.rrf_k
        )

    async def _hydrate(
        self,
        session: AsyncSession,
        tenant_id: UUID,
        ranked: list[tuple[UUID, float]],
        embedding: list[float],
        request: RetrieveRequest,
    ) -> list[RetrievedPassage]:
        """Rows of the top passages (tenant-filtered again), in rank order, until the limit or the token budget."""
        top = ranked[: request.limit]
        if not top:
            return []
        rows = (
            await session.execute(
                select(Passage, Article.title, Article.url)
                .join(Article, Article.id == Passage.article_id)
                .where(Passage.tenant_id == tenant_id, Article.tenant_id == tenant_id)
                .where(Passage.id.in_([passage_id for passage_id, _ in top]))
            )
        ).all()
        by_id = {row.Passage.id: row for row in rows}
        result: list[RetrievedPassage] = []
        spent = 0
        for passage_id, score in top:
            row = by_id.get(passage_id)
            if row is None:
                continue
            passage: Passage = row.Passage
            if result and spent + passage.tokens > request.token_budget:
                break
            spent += passage.tokens
            result.append(
                RetrievedPassage(
                    passage_id=passage.id,
                    article_id=passage.article_id,
                    title=row.title,
                    url=row.url,
                    heading_path=list(passage.heading_path),
                    text=passage.text,
                    score=score,
                    similarity=cosine(embedding, [float(x) for x in passage.embedding]),
                )
            )
        return result
