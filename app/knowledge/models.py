"""The knowledge schema: articles with their versions, passages (the retrieval unit), curated answers, per-tenant
settings and content gaps.

Every table carries ``tenant_id`` and every query filters by it. A passage carries its article's tenant, language
and (implicitly) published status: only published articles have passages, so retrieval needs no join to filter.

Indexes differ by backend and live outside these models: on Postgres ``passages.search`` is a ``tsvector``
(GIN-indexed) and ``passages.embedding`` a pgvector ``vector(384)`` (HNSW, cosine); on SQLite (``make run``)
``passages_fts`` is an FTS5 table kept beside ``passages`` and embeddings are JSON arrays compared in Python.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pgvector.sqlalchemy import Vector
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.contracts.knowledge import ArticleStatus, BodyFormat
from app.core.db import UtcDateTime, service_metadata, string_enum, utcnow
from app.core.ids import uuid7

SCHEMA = "knowledge"
#: all-MiniLM-L6-v2's output size; the simulator's embeddings have the same, so one schema serves both.
EMBEDDING_DIMENSIONS = 384


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source_path"),
        Index(None, "tenant_id", "updated_at", "id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    tenant_id: Mapped[UUID]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    format: Mapped[BodyFormat] = mapped_column(string_enum(BodyFormat, "body_format"))
    url: Mapped[str | None] = mapped_column(String(2000))
    language: Mapped[str] = mapped_column(String(8))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_path: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[ArticleStatus] = mapped_column(string_enum(ArticleStatus, "article_status"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ArticleVersion(Base):
    """A snapshot per change (content or status), so an edit can be audited and undone by hand."""

    __tablename__ = "article_versions"

    article_id: Mapped[UUID] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[UUID]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[ArticleStatus] = mapped_column(string_enum(ArticleStatus, "article_status"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Passage(Base):
    __tablename__ = "passages"
    __table_args__ = (Index(None, "article_id", "position"), Index(None, "tenant_id", "language"))

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    tenant_id: Mapped[UUID]
    article_id: Mapped[UUID] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8))
    heading_path: Mapped[list[str]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text)
    #: SHA-256 of the embedded text: an edit re-embeds only the passages whose text changed.
    text_hash: Mapped[str] = mapped_column(String(64))
    tokens: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[list[float]] = mapped_column(Vector(EMBEDDING_DIMENSIONS).with_variant(JSON(), "sqlite"))
    #: Postgres only (NULL on SQLite): to_tsvector(<the language's configuration>, heading path + text).
    search: Mapped[str | None] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"), deferred=True)


class CuratedAnswer(Base):
    __tablename__ = "curated_answers"
    __table_args__ = (UniqueConstraint("tenant_id", "normalized_question"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    tenant_id: Mapped[UUID]
    question: Mapped[str] = mapped_column(String(500))
    normalized_question: Mapped[str] = mapped_column(String(500))
    answer: Mapped[str] = mapped_column(Text)
    match: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TenantSettings(Base):
    __tablename__ = "tenant_settings"

    tenant_id: Mapped[UUID] = mapped_column(primary_key=True)
    min_similarity: Mapped[float]
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ContentGap(Base):
    """A question the assistant could not answer from the tenant's knowledge, counted per normalised text."""

    __tablename__ = "content_gaps"

    tenant_id: Mapped[UUID] = mapped_column(primary_key=True)
    normalized_question: Mapped[str] = mapped_column(String(500), primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    asked: Mapped[int] = mapped_column(Integer, default=1)
    last_asked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ContentGapAsk(Base):
    """One ask behind a content gap, with the conversation it came from: an end user's erasure removes their asks
    and rewords (or removes) the gaps they were behind. Gaps recorded before asks were kept have none."""

    __tablename__ = "content_gap_asks"
    __table_args__ = (Index(None, "tenant_id", "conversation_id"), Index(None, "tenant_id", "normalized_question"))

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    tenant_id: Mapped[UUID]
    normalized_question: Mapped[str] = mapped_column(String(500))
    conversation_id: Mapped[UUID]
    question: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
