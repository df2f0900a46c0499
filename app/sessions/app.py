"""The sessions service's application: database, routes, and the housekeeping jobs in the background."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from app.core.app_factory import create_app
from app.core.db import Database
from app.events.runtime import EventsConfig, EventsRuntime
from app.events.webhooks import RetryPolicy
from app.sessions import data_rights_routes, routes, webhook_routes
from app.sessions.housekeeping import Housekeeping
from app.sessions.models import SCHEMA
from app.sessions.service import SessionsService
from app.sessions.settings import SessionsSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def events_config(settings: SessionsSettings) -> EventsConfig | None:
    if not settings.events_nats_url:
        return None
    return EventsConfig(
        nats_url=settings.events_nats_url,
        stream=settings.events_stream,
        subject_prefix=settings.events_subject_prefix,
        consumer=settings.events_consumer,
        duplicate_window_seconds=settings.events_duplicate_window_seconds,
        max_age_days=settings.events_max_age_days,
        relay_interval_seconds=settings.events_poll_seconds,
        retry=RetryPolicy(
            max_attempts=settings.webhook_max_attempts,
            base_seconds=settings.webhook_backoff_seconds,
            cap_seconds=settings.webhook_backoff_cap_seconds,
        ),
        webhook_timeout_seconds=settings.webhook_timeout_seconds,
    )


def build_app(settings: SessionsSettings, *, housekeeping: bool = True) -> FastAPI:
    """``housekeeping=False`` leaves the background jobs off (tests drive them directly)."""
    database = Database(
        settings.database_url,
        schema=SCHEMA,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    jobs = Housekeeping(database, settings)
    config = events_config(settings)
    events = EventsRuntime(config, database) if config is not None else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(jobs.run()) if housekeeping else None
        if events is not None:
            await events.start()
        try:
            yield
        finally:
            if events is not None:
                await events.stop()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await database.dispose()

    app = create_app(
        settings,
        title="Helpline sessions",
        description="Conversations, messages, lifecycle, feedback and prompt history (internal).",
        routers=[routes.router, webhook_routes.router, data_rights_routes.router],
        readiness_checks={"database": database.ping},
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.sessions_service = SessionsService()
    app.state.housekeeping = jobs
    app.state.events = events
    return app
