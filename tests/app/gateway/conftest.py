"""Gateway fixtures: the real auth service, the sessions/chat stand-in, and the gateway, all over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from app.auth import repository
from app.auth.app import build_app as build_auth_app
from app.auth.models import SCHEMA as AUTH_SCHEMA
from app.auth.settings import AuthSettings
from app.contracts.api import Scope, Tier
from app.core.api_keys import KeyspaceLayout, generate_api_key
from app.core.db import Database
from app.gateway.admission import utc_day
from app.gateway.app import build_app as build_gateway_app
from app.gateway.settings import GatewaySettings
from tests.app.gateway.stand_ins import StandInState, build_stand_in
from tests.app.harness import PostgresDatabase, serve_app, truncate_schema


@dataclass(frozen=True)
class Tenant:
    id: UUID
    slug: str
    key: str
    key_id: UUID
    tier: Tier = Tier.STANDARD

    def tokens_key(self, redis_prefix: str) -> str:
        """The Redis counter of today's tokens of this tenant's keys of this tier (the quota's)."""
        return KeyspaceLayout(redis_prefix).tokens(self.id, self.tier.value, utc_day(datetime.now(UTC)))

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass(frozen=True)
class RunningService:
    base_url: str
    app: FastAPI


async def provision(
    auth: RunningService, slug: str, tier: Tier = Tier.STANDARD, scopes: Sequence[Scope] = tuple(Scope)
) -> Tenant:
    """A tenant and one API key, written straight into auth's database (what the bootstrap CLI does)."""
    database: Database = auth.app.state.database
    generated = generate_api_key()
    async with database.transaction() as session:
        tenant = await repository.create_tenant(session, slug=slug, name=slug, max_tier=Tier.ENTERPRISE)
        key = await repository.create_api_key(
            session, tenant_id=tenant.id, name="test", tier=tier, scopes=list(scopes), generated=generated
        )
    return Tenant(id=tenant.id, slug=slug, key=generated.key, key_id=key.id, tier=tier)


USER_PASSWORD = "correct horse battery staple"


async def agent_headers(gateway: httpx.AsyncClient, tenant: Tenant, email: str, role: str = "agent") -> dict[str, str]:
    """A person of ``role`` in ``tenant`` (created with the tenant's key), logged in: their bearer header."""
    created = await gateway.post(
        "/v1/users", json={"email": email, "role": role, "password": USER_PASSWORD}, headers=tenant.headers
    )
    assert created.status_code == 201, created.text
    login = await gateway.post(
        "/v1/auth/token", json={"tenant": tenant.slug, "email": email, "password": USER_PASSWORD}
    )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@pytest.fixture
def stand_in_state() -> StandInState:
    return StandInState()


@pytest.fixture
async def stand_in(stand_in_state: StandInState, internal_secret: str) -> AsyncIterator[str]:
    async with serve_app(build_stand_in(stand_in_state, internal_secret)) as server:
        yield server.base_url


@pytest.fixture
async def auth_service(auth_settings: AuthSettings, auth_database: PostgresDatabase) -> AsyncIterator[RunningService]:
    await truncate_schema(auth_database, AUTH_SCHEMA)
    app = build_auth_app(auth_settings)
    async with serve_app(app) as server:
        yield RunningService(server.base_url, app)


@pytest.fixture
def gateway_settings(
    internal_secret: str, redis_url: str, redis_prefix: str, auth_service: RunningService, stand_in: str
) -> GatewaySettings:
    return GatewaySettings(
        environment="test",
        internal_token_secret=internal_secret,  # type: ignore[arg-type]
        redis_url=redis_url,
        redis_key_prefix=redis_prefix,
        auth_url=auth_service.base_url,
        sessions_url=stand_in,
        chat_url=stand_in,
        knowledge_url=stand_in,
        log_level="WARNING",
    )


@pytest.fixture
async def gateway_app(gateway_settings: GatewaySettings) -> AsyncIterator[RunningService]:
    app = build_gateway_app(gateway_settings)
    async with serve_app(app) as server:
        yield RunningService(server.base_url, app)


@pytest.fixture
async def gateway(gateway_app: RunningService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_app.base_url, timeout=10) as client:
        yield client


@pytest.fixture
async def acme(auth_service: RunningService) -> Tenant:
    return await provision(auth_service, "acme", Tier.ENTERPRISE)


@pytest.fixture
async def globex(auth_service: RunningService) -> Tenant:
    return await provision(auth_service, "globex", Tier.ENTERPRISE)
