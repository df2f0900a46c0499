"""Events fixtures: a sessions service with its events machinery on the real NATS (127.0.0.1:4222) and Postgres,
a stream, subjects and a consumer of the test's own, and a webhook receiver that can be told to fail."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import httpx
import nats
import pytest
from fastapi import FastAPI, Request, Response
from pydantic import SecretStr

from app.contracts.api import Role, Scope
from app.events.runtime import EventsRuntime
from app.sessions.app import build_app
from app.sessions.settings import SessionsSettings
from tests.app.harness import IdentityFactory, PostgresDatabase, RunningServer, serve_app
from tests.app.sessions.conftest import sessions_database

__all__ = ["sessions_database"]

NATS_URL = os.environ.get("HELPLINE_TEST_NATS_URL", "nats://127.0.0.1:4222")
MAX_ATTEMPTS = 4


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tenant's webhook endpoint: records every request; answers 503 while ``failures_left`` > 0."""

    url: str = ""
    failures_left: int = 0
    received: list[Received] = field(default_factory=list)
    refused: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            if self.failures_left > 0:
                self.failures_left -= 1
                self.refused += 1
                return Response(status_code=503)
            self.received.append(Received(dict(request.headers), await request.body()))
            return Response(status_code=204)

        return app


@dataclass(frozen=True)
class Names:
    stream: str
    prefix: str
    consumer: str


@pytest.fixture
async def names() -> AsyncIterator[Names]:
    token = secrets.token_hex(4)
    chosen = Names(stream=f"TEST_EVENTS_{token}", prefix=f"test_{token}.events", consumer=f"webhooks_{token}")
    yield chosen
    connection = await nats.connect(NATS_URL)
    try:
        await connection.jetstream().delete_stream(chosen.stream)
    except nats.js.errors.NotFoundError:
        pass
    finally:
        await connection.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()
    async with serve_app(state.app()) as server:
        state.url = f"{server.base_url}/hook"
        yield state


@pytest.fixture
async def events_server(
    sessions_database: PostgresDatabase, internal_secret: str, names: Names
) -> AsyncIterator[RunningServer]:
    settings = SessionsSettings(
        database_url=sessions_database.url,
        environment="test",
        internal_token_secret=SecretStr(internal_secret),
        log_level="WARNING",
        database_pool_size=3,
        events_nats_url=NATS_URL,
        events_stream=names.stream,
        events_subject_prefix=names.prefix,
        events_consumer=names.consumer,
        events_poll_seconds=0.05,
        webhook_max_attempts=MAX_ATTEMPTS,
        webhook_backoff_seconds=0.1,
        webhook_backoff_cap_seconds=0.4,
        webhook_timeout_seconds=2.0,
    )
    async with serve_app(build_app(settings, housekeeping=False)) as server:
        yield server


@dataclass(frozen=True)
class Tenant:
    """Callers of one fresh tenant: its API key (customer routes), an agent and an admin (both people)."""

    http: httpx.AsyncClient
    identities: IdentityFactory
    tenant_id: UUID = field(default_factory=uuid4)
    agent_id: UUID = field(default_factory=uuid4)

    def headers(self, who: str) -> dict[str, str]:
        if who == "key":
            scopes = [Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE]
            claims = self.identities.claims(self.tenant_id, role=Role.CUSTOMER, scopes=scopes)
        elif who == "agent":
            claims = self.identities.claims(
                self.tenant_id,
                role=Role.AGENT,
                scopes=[Scope.AGENT, Scope.CONVERSATIONS_READ],
                principal="user",
                subject=str(self.agent_id),
            )
        else:
            claims = self.identities.claims(self.tenant_id, role=Role.ADMIN, scopes=[Scope.ADMIN], principal="user")
        return self.identities.headers(claims)

    async def call(self, who: str, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        response = await self.http.request(method, f"/internal/v1{path}", headers=self.headers(who), **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None


@pytest.fixture
async def acme(events_server: RunningServer, identities: IdentityFactory) -> AsyncIterator[Tenant]:
    async with httpx.AsyncClient(base_url=events_server.base_url, timeout=10) as http:
        yield Tenant(http, identities)


def runtime_of(server: RunningServer) -> EventsRuntime:
    runtime = server.server.config.app.state.events  # type: ignore[attr-defined]
    assert isinstance(runtime, EventsRuntime)
    return runtime
