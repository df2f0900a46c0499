"""The two indexes behind retrieval, per backend: keyword (full text) and vector (nearest neighbours).

Postgres: ``passages.search`` is a ``tsvector`` built with the article language's text search configuration
(GIN index), queried with ``ts_rank_cd`` over an OR of the question's words; ``passages.embedding`` is a pgvector
``vector(384)`` searched by cosine distance (HNSW index; iterative scans keep the tenant filter from starving
the result). SQLite (``make run``): an FTS5 table ranked by BM25, and cosine similarity computed in Python over
the tenant's passages (fine for a help centre of hundreds of passages; Postgres is the production path).

Every function takes the tenant and filters by it first: no query can see another tenant's passages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from sqlalchemy import delete, func, literal_column, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.knowledge.embeddings import cosine
from app.knowledge.models import Passage
from app.knowledge.terms import query_terms

#: Postgres text search configuration per article language (stemming and stop words of that language).
TEXT_SEARCH_CONFIG = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
    "pt": "portuguese",
}


@dataclass(frozen=True)
class Hit:
    passage_id: UUID
    score: float


def indexed_text(passage: Passage) -> str:
    return " > ".join(passage.heading_path) + "\n" + passage.text


class PassageIndex(Protocol):
    async def add(self, session: AsyncSession, passages: Sequence[Passage]) -> None:
        """Index passages already added to the session (and flushed)."""
        ...

    async def remove(self, session: AsyncSession, passage_ids: Sequence[UUID]) -> None:
        """Forget passages about to be deleted."""
        ...

    async def keyword(
        self, session: AsyncSession, tenant_id: UUID, query: str, language: str | None, limit: int
    ) -> list[Hit]: ...

    async def vector(
        self, session: AsyncSession, tenant_id: UUID, embedding: list[float], language: str | None, limit: int
    ) -> list[Hit]: ...


class PostgresIndex:
    async def add(self, session: AsyncSession, passages: Sequence[Passage]) -> None:
        for passage in passages:
            config = TEXT_SEARCH_CONFIG.get(passage.language, "simple")
            await session.execute(
                update(Passage)
                .where(Passage.id == passage.id)
                .values(search=func.to_tsvector(literal_column(f"'{config}'::regconfig"), indexed_text(passage)))
            )

    async def remove(self, session: AsyncSession, passage_ids: Sequence[UUID]) -> None:
        return None  # the tsvector and the vector live in the row itself

    async def keyword(
        self, session: AsyncSession, tenant_id: UUID, query: str, language: str | None, limit: int
    ) -> list[Hit]:
        terms = query_terms(query)
        if not terms:
            return []
        config = literal_column(f"'{TEXT_SEARCH_CONFIG.get(language or 'en', 'english')}'::regconfig")
        tsquery = func.to_tsquery(config, " | ".join(terms))  # terms are letters and digits only
        rank = func.ts_rank_cd(Passage.search, tsquery, 32)  # 32: rank / (rank + 1), in 0..1
        statement = (
            select(Passage.id, rank.label("rank"))
            .where(Passage.tenant_id == tenant_id, Passage.search.op("@@")(tsquery))
            .order_by(rank.desc(), Passage.id)
            .limit(limit)
        )
        if language is not None:
            statement = statement.where(Passage.language == language)
        rows = (await session.execute(statement)).all()
        return [Hit(row.id, float(row.rank)) for row in rows]

    async def vector(
        self, session: AsyncSession, tenant_id: UUID, embedding: list[float], language: str | None, limit: int
    ) -> list[Hit]:
        # Filtered HNSW: keep scanning the graph until `limit` rows pass the tenant filter (pgvector >= 0.8).
        await session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        distance = Passage.embedding.cosine_distance(embedding)
        statement = (
            select(Passage.id, distance.label("distance"))
            .where(Passage.tenant_id == tenant_id)
            .order_by(distance, Passage.id)
            .limit(limit)
        )
        if language is not None:
            statement = statement.where(Passage.language == language)
        rows = (await session.execute(statement)).all()
        hits = [Hit(row.id, 1.0 - float(row.distance)) for row in rows]
        return sorted(hits, key=lambda hit: -hit.score)  # relaxed order: re-sort the few rows returned


_FTS_QUERY_HEAD = (
    "SELECT passage_id, bm25(passages_fts) AS rank FROM passages_fts "
    "WHERE passages_fts MATCH :match AND tenant_id = :tenant"
)


class SqliteIndex:
    async def add(self, session: AsyncSession, passages: Sequence[Passage]) -> None:
        for passage in passages:
            await session.execute(
                text(
                    "INSERT INTO passages_fts (text, passage_id, tenant_id, language) "
                    "VALUES (:text, :passage_id, :tenant_id, :language)"
                ),
                {
                    "text": indexed_text(passage),
                    "passage_id": passage.id.hex,
                    "tenant_id": passage.tenant_id.hex,
                    "language": passage.language,
                },
            )

    async def remove(self, session: AsyncSession, passage_ids: Sequence[UUID]) -> None:
        for passage_id in passage_ids:
            await session.execute(text("DELETE FROM passages_fts WHERE passage_id = :id"), {"id": passage_id.hex})

    async def keyword(
        self, session: AsyncSession, tenant_id: UUID, query: str, language: str | None, limit: int
    ) -> list[Hit]:
        terms = query_terms(query)
        if not terms:
            return []
        match = " OR ".join(f'"{term}"' for term in terms)  # quoted: FTS5 syntax in a question is plain text
        language_filter = " AND language = :language" if language is not None else ""
        sql = f"{_FTS_QUERY_HEAD}{language_filter} ORDER BY rank LIMIT :limit"  # constant fragments only
        rows = (
            await session.execute(
                text(sql), {"match": match, "tenant": tenant_id.hex, "language": language, "limit": limit}
            )
        ).all()
        return [Hit(UUID(hex=row.passage_id), -float(row.rank)) for row in rows]  # bm25: lower is better

    async def vector(
        self, session: AsyncSession, tenant_id: UUID, embedding: list[float], language: str | None, limit: int
    ) -> list[Hit]:
        statement = select(Passage.id, Passage.embedding).where(Passage.tenant_id == tenant_id)
        if language is not None:
            statement = statement.where(Passage.language == language)
        rows = (await session.execute(statement)).all()
        hits = [Hit(row.id, cosine(embedding, row.embedding)) for row in rows]
        hits.sort(key=lambda hit: (-hit.score, hit.passage_id))
        return hits[:limit]


async def delete_passages(session: AsyncSession, index: PassageIndex, passage_ids: Sequence[UUID]) -> None:
    if passage_ids:
        await index.remove(session, passage_ids)
        await session.execute(delete(Passage).where(Passage.id.in_(passage_ids)))
