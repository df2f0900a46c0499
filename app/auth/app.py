"""The auth service's application: database, password hasher, signer, revocation publisher, routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from app.auth import audit, routes
from app.auth.models import SCHEMA
from app.auth.passwords import PasswordHasher
from app.auth.revocation import RevocationPublisher
from app.auth.service import AuthService
from app.auth.settings import AuthSettings
from app.auth.signing import signer_from_settings
from app.core.api_keys import KeyspaceLayout
from app.core.app_factory import ReadinessCheck, create_app
from app.core.db import Database, utcnow
from app.core.logging import get_logger
from app.core.redis import redis_client

MIGRATIONS = Path(__file__).parent / "migrations"
log = get_logger(__name__)


async def audit_retention_forever(database: Database, settings: AuthSettings) -> None:
    """Delete audit events past their tenant's retention, every interval; a failed round is retried next time."""
    while True:
        await asyncio.sleep(settings.audit_retention_interval_seconds)
        try:
            async with database.transaction() as session:
                deleted = await audit.enforce_retention(
                    session,
                    default_days=settings.audit_retention_days,
                    tenant_days=settings.tenant_audit_retention_days,
                    now=utcnow(),
                )
            if deleted:
                log.info("audit_retention", deleted_events=deleted)
        except Exception as exc:  # the service keeps serving; the next round retries
            log.warning("audit_retention_failed", error=repr(exc))


def build_app(settings: AuthSettings) -> FastAPI:
    database = Database(
        settings.database_url,
        schema=SCHEMA,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    redis = redis_client(settings.redis_url) if settings.redis_url else None
    revocations = RevocationPublisher(redis, KeyspaceLayout(settings.redis_key_prefix))
    service = AuthService(
        hasher=PasswordHasher(concurrency=settings.password_hash_concurrency),
        signer=signer_from_settings(settings),
        revocations=revocations,
        access_token_ttl_seconds=settings.access_token_ttl_seconds,
    )
    checks: dict[str, ReadinessCheck] = {"database": database.ping}
    if redis is not None:
        checks["redis"] = revocations.ping

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        retention = asyncio.create_task(audit_retention_forever(database, settings))
        try:
            yield
        finally:
            retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retention
            await revocations.aclose()
            await database.dispose()

    app = create_app(
        settings,
        title="Helpline auth",
        description="Tenants, users, API keys and access tokens (internal: reached through the gateway).",
        routers=[routes.router],
        readiness_checks=checks,
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.auth_service = service
    return app
