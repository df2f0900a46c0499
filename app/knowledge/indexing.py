"""Keeping an article's passages in step with it: split, embed what changed, index; or remove at once.

Only the article being written is touched. Passages whose text (with heading path) is unchanged keep their
embedding, so an edit of one paragraph costs one embedding, not the whole article. Everything happens in the
request's transaction: if the embedding model is down the edit is refused and nothing changes.
"""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.knowledge import ArticleStatus
from app.knowledge.chunking import split_article
from app.knowledge.embeddings import EmbeddingClient
from app.knowledge.models import Article, Passage
from app.knowledge.search import PassageIndex, delete_passages

#: Characters per token of the budget estimate (as chat's prompt estimate: pessimistic for English).
CHARS_PER_TOKEN = 3.0


class Indexer:
    def __init__(self, index: PassageIndex, embeddings: EmbeddingClient) -> None:
        self._index = index
        self._embeddings = embeddings

    async def reindex(self, session: AsyncSession, article: Article) -> int:
        """Make the article's passages match its current content and status; returns how many it has."""
        old = list(await session.scalars(select(Passage).where(Passage.article_id == article.id)))
        if article.status != ArticleStatus.PUBLISHED:
            await delete_passages(session, self._index, [p.id for p in old])
            return 0
        pieces = split_article(article.title, article.body, article.format)
        known = {p.text_hash: [float(x) for x in p.embedding] for p in old}
        missing = [piece for piece in pieces if piece.text_hash not in known]
        fresh = await self._embeddings.embed([piece.indexed_text for piece in missing]) if missing else []
        known.update({piece.text_hash: vector for piece, vector in zip(missing, fresh, strict=True)})
        await delete_passages(session, self._index, [p.id for p in old])
        rows = [
            Passage(
                tenant_id=article.tenant_id,
                article_id=article.id,
                position=position,
                language=article.language,
                heading_path=list(piece.heading_path),
                text=piece.text,
                text_hash=piece.text_hash,
                tokens=math.ceil(len(piece.indexed_text) / CHARS_PER_TOKEN),
                embedding=known[piece.text_hash],
            )
            for position, piece in enumerate(pieces)
        ]
        session.add_all(rows)
        await session.flush()
        await self._index.add(session, rows)
        return len(rows)

    async def remove(self, session: AsyncSession, article: Article) -> None:
        ids = list(await session.scalars(select(Passage.id).where(Passage.article_id == article.id)))
        await delete_passages(session, self._index, ids)
