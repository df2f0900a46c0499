"""Auth test fixtures: the auth schema migrated into the session database, the app, and seeded tenants."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.auth import repository
from app.auth.app import build_app
from app.auth.models import SCHEMA, Tenant
from app.auth.settings import AuthSettings
from app.contracts.api import Tier
from app.core.db import Database
from tests.app.harness import PostgresDatabase, truncate_schema


@pytest.fixture
async def auth_app(auth_settings: AuthSettings, auth_database: PostgresDatabase) -> AsyncIterator[FastAPI]:
    """The auth app with its lifespan running, on an emptied auth schema."""
    await truncate_schema(auth_database, SCHEMA)
    app = build_app(auth_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def auth_client(auth_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=auth_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://auth") as client:
        yield client


async def seed_tenant(app: FastAPI, slug: str, max_tier: Tier = Tier.ENTERPRISE) -> Tenant:
    """A tenant row (no users or keys): the starting point the bootstrap CLI creates in production."""
    database: Database = app.state.database
    async with database.transaction() as session:
        return await repository.create_tenant(session, slug=slug, name=slug.title(), max_tier=max_tier)
