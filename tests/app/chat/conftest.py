"""Chat test fixtures: the real path behind chat, on this machine.

Sessions runs as a real HTTP server on the session's Postgres; the engine is the simulator (two replicas of the
chat model and one classifier, as separate processes) behind the real router; chat itself is built per test
(its circuits and caches start fresh) and served over HTTP. Every test works in tenants of its own, and the
chat and sessions schemas are emptied after each test.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from pydantic import SecretStr

from app.chat.app import MIGRATIONS as CHAT_MIGRATIONS
from app.chat.app import build_app as build_chat_app
from app.chat.models import SCHEMA as CHAT_SCHEMA
from app.chat.settings import ChatSettings
from app.contracts.api import Role, Scope, Tier
from app.core.sse import SSEParser
from app.core.waits import scaled
from app.enginesim.launcher import EngineSimProcess
from app.router.app import create_router_app
from app.router.rendezvous import rank
from app.router.settings import BackendSource, RouterSettings, StaticBackends
from app.sessions.app import build_app as build_sessions_app
from app.sessions.models import SCHEMA as SESSIONS_SCHEMA
from app.sessions.settings import SessionsSettings
from tests.app.harness import IdentityFactory, PostgresDatabase, RunningServer, migrate, serve_app, truncate_schema
from tests.app.sessions.conftest import sessions_database

__all__ = ["sessions_database"]

CHAT_MODEL = "helpline-chat"
CLASSIFIER_MODEL = "helpline-classifier"
#: Long and random: the settings refuse short or placeholder secrets outside development.
ENGINE_KEY = secrets.token_urlsafe(32)
#: Fast and deterministic: 5 ms to the first token, 1 ms per token, 12-token answers.
FAST_ENGINE = [
    "--sim-ttft-ms", "5",
    "--sim-prefill-ms-per-token", "0.01",
    "--sim-itl-ms", "1",
    "--sim-itl-ms-per-seq", "0",
    "--sim-jitter", "0",
    "--sim-output-tokens", "12",
]  # fmt: skip
CUSTOMER_SCOPES = [Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE]


def engine(model: str, *extra: str, max_model_len: int = 4096) -> EngineSimProcess:
    return EngineSimProcess(
        "Qwen/Qwen2.5-1.5B-Instruct-AWQ" if model == CLASSIFIER_MODEL else "Qwen/Qwen2.5-7B-Instruct-AWQ",
        served_model_name=model,
        api_key=ENGINE_KEY,
        max_model_len=max_model_len,
        args=[*FAST_ENGINE, *extra],
    )


@dataclass(frozen=True)
class Engines:
    chat: tuple[EngineSimProcess, EngineSimProcess]
    classifier: EngineSimProcess


def home(engines: Engines, conversation_id: str) -> EngineSimProcess:
    """The chat replica the router sends this conversation to (its first rendezvous choice)."""
    by_url = {process.base_url: process for process in engines.chat}
    return by_url[rank(conversation_id, list(by_url))[0]]


@contextmanager
def running_engines(*chat_args: str) -> Iterator[Engines]:
    """Two chat-model replicas (with ``chat_args``) and a classifier, started together, stopped after."""
    processes = (engine(CHAT_MODEL, *chat_args), engine(CHAT_MODEL, *chat_args), engine(CLASSIFIER_MODEL))
    EngineSimProcess.start_all(*processes)
    try:
        yield Engines(chat=(processes[0], processes[1]), classifier=processes[2])
    finally:
        for process in processes:
            process.stop()


@pytest.fixture(scope="session")
def engines() -> Iterator[Engines]:
    """Two chat-model replicas and a classifier, shared by the session (faults are cleared after each test)."""
    with running_engines() as started:
        yield started


@pytest.fixture(autouse=True)
def _clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    # Resolved before the test (so it is torn down after this fixture), and only where the test uses engines.
    used: Engines | None = request.getfixturevalue("engines") if "engines" in request.fixturenames else None
    yield
    if used is not None:
        for process in (*used.chat, used.classifier):
            if process.returncode is None:
                process.clear_faults()


@pytest.fixture(scope="session")
async def chat_database(sessions_database: PostgresDatabase) -> PostgresDatabase:
    await migrate(sessions_database, CHAT_MIGRATIONS, CHAT_SCHEMA)
    return sessions_database


@pytest.fixture(scope="session")
async def sessions_server(sessions_database: PostgresDatabase, internal_secret: str) -> AsyncIterator[RunningServer]:
    settings = SessionsSettings(
        database_url=sessions_database.url,
        environment="test",
        internal_token_secret=SecretStr(internal_secret),
        log_level="WARNING",
    )
    async with serve_app(build_sessions_app(settings, housekeeping=False)) as server:
        yield server


@pytest.fixture(autouse=True)
async def _empty_schemas(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    if "chat_database" in request.fixturenames:
        database: PostgresDatabase = request.getfixturevalue("chat_database")
        await truncate_schema(database, CHAT_SCHEMA)
        await truncate_schema(database, SESSIONS_SCHEMA)


def router_settings(chat_urls: list[str], classifier_urls: list[str], **options: Any) -> RouterSettings:
    backends: dict[str, BackendSource] = {
        CHAT_MODEL: StaticBackends(static=chat_urls),
        CLASSIFIER_MODEL: StaticBackends(static=classifier_urls),
    }
    return RouterSettings(backends=backends, environment="test", log_level="WARNING", **options)


@pytest.fixture
async def router(engines: Engines) -> AsyncIterator[RunningServer]:
    """The router in front of both chat replicas and the classifier (fresh per test: no ejection carries over)."""
    settings = router_settings([process.base_url for process in engines.chat], [engines.classifier.base_url])
    async with serve_app(create_router_app(settings)) as server:
        yield server


def chat_settings_for(
    *, database: PostgresDatabase, sessions_url: str, engine_url: str, internal_secret: str, **options: Any
) -> ChatSettings:
    values: dict[str, Any] = {
        "database_url": database.url,
        "environment": "test",
        "internal_token_secret": SecretStr(internal_secret),
        "log_level": "WARNING",
        "sessions_url": sessions_url,
        "engine_url": engine_url,
        "engine_api_key": SecretStr(ENGINE_KEY),
        "chat_model": CHAT_MODEL,
        "classifier_model": CLASSIFIER_MODEL,
        "max_model_len": 4096,
        "engine_first_token_timeout_seconds": 2.0,
        "engine_total_timeout_seconds": 10.0,
        "circuit_failure_threshold": 3,
        "circuit_reset_seconds": scaled(0.5),  # the open window must outlast a turn on a loaded machine
        "profile_cache_seconds": 0.0,
        "shutdown_grace_seconds": 5.0,
    }
    values.update(options)
    return ChatSettings(**values)


@pytest.fixture
def chat_options() -> dict[str, Any]:
    """Override in a test module to change the chat service's settings."""
    return {}


@pytest.fixture
async def chat_server(
    chat_database: PostgresDatabase,
    sessions_server: RunningServer,
    router: RunningServer,
    internal_secret: str,
    chat_options: dict[str, Any],
) -> AsyncIterator[RunningServer]:
    settings = chat_settings_for(
        database=chat_database,
        sessions_url=sessions_server.base_url,
        engine_url=f"{router.base_url}/v1",
        internal_secret=internal_secret,
        **chat_options,
    )
    async with serve_app(build_chat_app(settings)) as server:
        yield server


@dataclass(frozen=True)
class Turn:
    """What a customer got for one message: the SSE events by name, or the JSON body, and the status."""

    status: int
    events: list[tuple[str, dict[str, Any]]]
    body: dict[str, Any] | None = None
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    raw: bytes = b""

    def named(self, name: str) -> list[dict[str, Any]]:
        return [data for event, data in self.events if event == name]

    @property
    def text(self) -> str:
        return "".join(data["text"] for data in self.named("delta"))

    @property
    def names(self) -> list[str]:
        """Event names with consecutive deltas folded into one."""
        names: list[str] = []
        for event, _data in self.events:
            if not (event == "delta" and names and names[-1] == "delta"):
                names.append(event)
        return names


@dataclass(frozen=True)
class Customer:
    """A customer (an API key of one tenant) talking to chat and sessions as the gateway would for them."""

    chat: httpx.AsyncClient
    sessions: httpx.AsyncClient
    headers: dict[str, str]
    tenant_id: UUID

    async def conversation(self) -> str:
        response = await self.sessions.post("/internal/v1/conversations", json={}, headers=self.headers)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def send(self, conversation_id: str, content: str, *, key: str | None = None, sse: bool = True) -> Turn:
        headers = {**self.headers, "Accept": "text/event-stream" if sse else "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        path = f"/internal/v1/conversations/{conversation_id}/messages"
        async with self.chat.stream("POST", path, json={"content": content}, headers=headers) as response:
            raw = await response.aread()
        if not sse or not response.headers.get("content-type", "").startswith("text/event-stream"):
            return Turn(status=response.status_code, events=[], body=response.json(), headers=response.headers)
        events = [(event.event, event.json()) for event in SSEParser().feed(raw)]
        return Turn(status=response.status_code, events=events, headers=response.headers, raw=raw)

    async def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        path = f"/internal/v1/conversations/{conversation_id}/messages"
        response = await self.sessions.get(path, params={"limit": 100}, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    async def conversation_status(self, conversation_id: str) -> str:
        response = await self.sessions.get(f"/internal/v1/conversations/{conversation_id}", headers=self.headers)
        return response.json()["status"]


@dataclass(frozen=True)
class Desk:
    """Clients on chat and sessions plus an identity factory: customers and admins of fresh tenants."""

    chat: httpx.AsyncClient
    sessions: httpx.AsyncClient
    identities: IdentityFactory

    def customer(self, tenant_id: UUID | None = None, *, tier: Tier = Tier.STANDARD) -> Customer:
        tenant_id = tenant_id or uuid4()
        scopes = [*CUSTOMER_SCOPES, Scope.COMPLETIONS]
        claims = self.identities.claims(tenant_id, role=Role.CUSTOMER, scopes=scopes, tier=tier)
        return Customer(self.chat, self.sessions, self.identities.headers(claims), tenant_id)

    def admin_headers(self, tenant_id: UUID) -> dict[str, str]:
        claims = self.identities.claims(tenant_id, role=Role.ADMIN, scopes=[Scope.ADMIN], principal="user")
        return self.identities.headers(claims)


@pytest.fixture
async def desk(
    chat_server: RunningServer, sessions_server: RunningServer, identities: IdentityFactory
) -> AsyncIterator[Desk]:
    async with (
        httpx.AsyncClient(base_url=chat_server.base_url, timeout=30) as chat,
        httpx.AsyncClient(base_url=sessions_server.base_url, timeout=30) as sessions,
    ):
        yield Desk(chat, sessions, identities)
