"""Sessions test fixtures: the schema migrated once per session, and per test an app whose writes all roll
back at the end (each request runs in a savepoint of one outer transaction), called in-process over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from app.contracts.api import Role, Scope
from app.contracts.internal import IdentityClaims, PrincipalKind
from app.sessions.app import MIGRATIONS, build_app
from app.sessions.models import SCHEMA
from app.sessions.settings import SessionsSettings
from tests.app.harness import IdentityFactory, PostgresDatabase, migrate, rolled_back

CUSTOMER_SCOPES = [Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE]


@pytest.fixture(scope="session")
async def sessions_database(test_database: PostgresDatabase) -> PostgresDatabase:
    await migrate(test_database, MIGRATIONS, SCHEMA)
    return test_database


@pytest.fixture
def sessions_settings(sessions_database: PostgresDatabase, internal_secret: str) -> SessionsSettings:
    return SessionsSettings(
        database_url=sessions_database.url, environment="test", internal_token_secret=SecretStr(internal_secret)
    )


@pytest.fixture
async def sessions_app(sessions_settings: SessionsSettings) -> AsyncIterator[FastAPI]:
    app = build_app(sessions_settings, housekeeping=False)
    async with rolled_back(app.state.database):
        yield app


@pytest.fixture
async def client(sessions_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sessions_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sessions") as http:
        yield http


@dataclass(frozen=True)
class Caller:
    """Someone calling sessions with an identity token, as the gateway or chat would."""

    http: httpx.AsyncClient
    claims: IdentityClaims
    headers: dict[str, str]

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.http.post(f"/internal/v1{path}", json=json, headers=self.headers, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(f"/internal/v1{path}", headers=self.headers, **kwargs)

    async def conversation(self, **body: Any) -> dict[str, Any]:
        response = await self.post("/conversations", body)
        assert response.status_code == 201, response.text
        return response.json()

    async def turn(self, conversation_id: str, content: str = "Where is my order?", **body: Any) -> dict[str, Any]:
        response = await self.post(f"/conversations/{conversation_id}/turns", {"content": content, **body})
        assert response.status_code == 200, response.text
        return response.json()

    async def answer(self, conversation_id: str, content: str = "It ships today.", **body: Any) -> dict[str, Any]:
        """A bot turn answered completely (what chat does for one customer message)."""
        started = await self.turn(conversation_id)
        finish = {"content": content, "status": "complete", **body}
        message_id = started["assistant_message"]["id"]
        response = await self.post(f"/conversations/{conversation_id}/messages/{message_id}:finish", finish)
        assert response.status_code == 200, response.text
        return response.json()


@dataclass(frozen=True)
class Callers:
    http: httpx.AsyncClient
    identities: IdentityFactory

    def as_(
        self,
        tenant_id: UUID,
        *,
        role: Role = Role.ADMIN,
        scopes: list[Scope] | None = None,
        principal: PrincipalKind = "api_key",
        subject: str | None = None,
    ) -> Caller:
        claims = self.identities.claims(
            tenant_id,
            role=role,
            scopes=scopes,
            principal=principal,
            subject=subject,
        )
        return Caller(self.http, claims, self.identities.headers(claims))

    def api_key(self, tenant_id: UUID) -> Caller:
        return self.as_(tenant_id, role=Role.CUSTOMER, scopes=CUSTOMER_SCOPES)

    def end_user(self, tenant_id: UUID, subject: str) -> Caller:
        return self.as_(tenant_id, role=Role.CUSTOMER, scopes=CUSTOMER_SCOPES, principal="end_user", subject=subject)

    def agent(self, tenant_id: UUID, agent_id: UUID | None = None) -> Caller:
        scopes = [Scope.AGENT, Scope.CONVERSATIONS_READ]
        return self.as_(tenant_id, role=Role.AGENT, scopes=scopes, principal="user", subject=str(agent_id or uuid4()))


@pytest.fixture
def callers(client: httpx.AsyncClient, identities: IdentityFactory) -> Callers:
    return Callers(client, identities)


@pytest.fixture
def tenant() -> UUID:
    return uuid4()
