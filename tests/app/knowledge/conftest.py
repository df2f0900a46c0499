"""Knowledge test fixtures: the schema migrated once per session on Postgres (with pgvector) and per test on a
SQLite file (FTS5), the simulator's embedding endpoint served in-process, and callers with identities.

Postgres tests run each app inside one outer transaction rolled back at the end (as sessions' tests do).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from app.contracts.api import Role, Scope
from app.core.migrations import upgrade_to_head
from app.enginesim.server import Simulator
from app.knowledge.app import MIGRATIONS, build_app
from app.knowledge.embeddings import EmbeddingClient
from app.knowledge.models import SCHEMA
from app.knowledge.settings import KnowledgeSettings
from tests.app.harness import IdentityFactory, PostgresDatabase, rolled_back
from tests.app.knowledge.servers import embedding_simulator, knowledge_database, knowledge_settings

__all__ = ["embedding_simulator", "knowledge_database"]  # fixtures, found by pytest here

CUSTOMER_SCOPES = [Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE]


def embedding_client(settings: KnowledgeSettings, simulator: Simulator) -> EmbeddingClient:
    transport = httpx.ASGITransport(app=simulator.app)
    return EmbeddingClient(settings, http_client=httpx.AsyncClient(transport=transport, base_url="http://engine"))


@pytest.fixture(params=["postgres", "sqlite"])
async def knowledge_app(
    request: pytest.FixtureRequest,
    knowledge_database: PostgresDatabase,
    internal_secret: str,
    embedding_simulator: Simulator,
    tmp_path: Path,
) -> AsyncIterator[FastAPI]:
    """The knowledge app on each backend: Postgres (rolled back after the test) and a fresh SQLite file."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'knowledge.db'}"
        await asyncio.to_thread(upgrade_to_head, url, MIGRATIONS, SCHEMA)
        settings = knowledge_settings(url, internal_secret, "http://engine/v1")
        app = build_app(settings, embeddings=embedding_client(settings, embedding_simulator))
        yield app
        await app.state.database.dispose()
        return
    settings = knowledge_settings(knowledge_database.url, internal_secret, "http://engine/v1")
    app = build_app(settings, embeddings=embedding_client(settings, embedding_simulator))
    async with rolled_back(app.state.database):
        yield app


@pytest.fixture
async def client(knowledge_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=knowledge_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://knowledge") as http:
        yield http


@dataclass(frozen=True)
class Caller:
    http: httpx.AsyncClient
    headers: dict[str, str]

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.http.post(f"/internal/v1/knowledge{path}", json=json, headers=self.headers, **kwargs)

    async def put(self, path: str, json: Any = None) -> httpx.Response:
        return await self.http.put(f"/internal/v1/knowledge{path}", json=json, headers=self.headers)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(f"/internal/v1/knowledge{path}", headers=self.headers, **kwargs)

    async def delete(self, path: str) -> httpx.Response:
        return await self.http.delete(f"/internal/v1/knowledge{path}", headers=self.headers)

    async def article(self, **body: Any) -> dict[str, Any]:
        payload = {"title": "Returns", "body": "# Returns\n\nYou can return items within 30 days.", **body}
        response = await self.post("/articles", payload)
        assert response.status_code == 201, response.text
        return response.json()

    async def retrieve(self, query: str, **body: Any) -> dict[str, Any]:
        response = await self.post("/retrieve", {"query": query, **body})
        assert response.status_code == 200, response.text
        return response.json()


@dataclass(frozen=True)
class Callers:
    http: httpx.AsyncClient
    identities: IdentityFactory

    def admin(self, tenant_id: UUID) -> Caller:
        claims = self.identities.claims(tenant_id, role=Role.ADMIN, scopes=[Scope.ADMIN], principal="user")
        return Caller(self.http, self.identities.headers(claims))

    def customer(self, tenant_id: UUID) -> Caller:
        claims = self.identities.claims(tenant_id, role=Role.CUSTOMER, scopes=CUSTOMER_SCOPES)
        return Caller(self.http, self.identities.headers(claims))


@pytest.fixture
def callers(client: httpx.AsyncClient, identities: IdentityFactory) -> Callers:
    return Callers(client, identities)


@pytest.fixture
def tenant() -> UUID:
    return uuid4()
