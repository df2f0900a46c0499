"""The knowledge service's application: database, embedding client, the backend's passage index, routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from app.core.app_factory import create_app
from app.core.db import Database, is_sqlite
from app.knowledge import routes
from app.knowledge.articles import ArticleService
from app.knowledge.dependencies import Knowledge
from app.knowledge.embeddings import EmbeddingClient
from app.knowledge.indexing import Indexer
from app.knowledge.models import SCHEMA
from app.knowledge.retrieval import Retriever
from app.knowledge.search import PassageIndex, PostgresIndex, SqliteIndex
from app.knowledge.settings import KnowledgeSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def open_database(settings: KnowledgeSettings) -> Database:
    return Database(
        settings.database_url,
        schema=SCHEMA,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )


def build_components(settings: KnowledgeSettings, embeddings: EmbeddingClient) -> Knowledge:
    index: PassageIndex = SqliteIndex() if is_sqlite(settings.database_url) else PostgresIndex()
    return Knowledge(
        articles=ArticleService(Indexer(index, embeddings)),
        retriever=Retriever(settings, index, embeddings),
    )


def build_app(settings: KnowledgeSettings, *, embeddings: EmbeddingClient | None = None) -> FastAPI:
    """``embeddings`` replaces the client built from the settings (tests pass one bound to their engine)."""
    database = open_database(settings)
    client = embeddings or EmbeddingClient(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await client.aclose()
            await database.dispose()

    app = create_app(
        settings,
        title="Helpline knowledge",
        description="Articles, passages, hybrid retrieval, curated answers and content gaps (internal).",
        routers=[routes.router],
        readiness_checks={"database": database.ping},
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.knowledge = build_components(settings, client)
    return app
