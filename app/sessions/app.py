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
from app.sessions import routes
from app.sessions.housekeeping import Housekeeping
from app.sessions.models import SCHEMA
from app.sessions.service import SessionsService
from app.sessions.settings import SessionsSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: SessionsSettings, *, housekeeping: bool = True) -> FastAPI:
    """``housekeeping=False`` leaves the background jobs off (tests drive them directly)."""
    database = Database(
        settings.database_url,
        schema=SCHEMA,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    jobs = Housekeeping(database, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(jobs.run()) if housekeeping else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await database.dispose()

    app = create_app(
        settings,
        title="Helpline sessions",
        description="Conversations, messages, lifecycle, feedback and prompt history (internal).",
        routers=[routes.router],
        readiness_checks={"database": database.ping},
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.sessions_service = SessionsService()
    app.state.housekeeping = jobs
    return app
