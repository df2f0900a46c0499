"""The chat service's application: the engine and sessions clients, the turn service, the pass-through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from app.chat import routes
from app.chat.background import BackgroundTasks
from app.chat.completions import CompletionsProxy
from app.chat.engine import EngineClient
from app.chat.knowledge_client import KnowledgeClient
from app.chat.ladder import DegradationLadder, LadderSettings
from app.chat.models import SCHEMA
from app.chat.profiles import ProfileStore
from app.chat.records import Records
from app.chat.safety import TurnSafety
from app.chat.sessions_client import SessionsClient
from app.chat.settings import ChatSettings
from app.chat.turns import TurnService
from app.core.app_factory import create_app
from app.core.db import Database
from app.safety.pii.placeholders import warm_up

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: ChatSettings) -> FastAPI:
    database = Database(
        settings.database_url,
        schema=SCHEMA,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    sessions = SessionsClient(settings.sessions_url)
    engine = EngineClient(settings)
    background = BackgroundTasks()
    records = Records(database)
    profiles = ProfileStore(database, settings)
    knowledge = (
        KnowledgeClient(settings.knowledge_url, timeout_seconds=settings.knowledge_timeout_seconds)
        if settings.knowledge_url
        else None
    )
    safety = TurnSafety(database=database, settings=settings)
    ladder = DegradationLadder(
        LadderSettings(
            ttft_slo_seconds=settings.degradation_ttft_slo_seconds,
            exit_ratio=settings.degradation_exit_ratio,
            hold_seconds=settings.degradation_hold_seconds,
            window_seconds=settings.degradation_window_seconds,
            fallback_model=settings.fallback_model if settings.degradation_ladder else None,
        ),
        available=engine.available,
    )
    ladder.export(settings.chat_model)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # PII detection loads Presidio and spaCy (seconds of CPU): in the background, not before /healthz answers.
        warming = asyncio.create_task(asyncio.to_thread(warm_up), name="pii warm-up")
        try:
            yield
        finally:
            # Answers still being written (customers who disconnected) get their partial text stored first.
            await background.drain(settings.shutdown_grace_seconds)
            await engine.aclose()
            await sessions.aclose()
            if knowledge is not None:
                await knowledge.aclose()
            await database.dispose()
            await warming

    app = create_app(
        settings,
        title="Helpline chat",
        description="Answers customer messages with the tenant's assistant (internal).",
        routers=[routes.router],
        readiness_checks={"database": database.ping, "sessions": sessions.ping},
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.engine = engine
    app.state.background = background
    app.state.profiles = profiles
    app.state.safety = safety
    app.state.ladder = ladder
    app.state.records = records
    app.state.turns = TurnService(
        settings=settings,
        sessions=sessions,
        engine=engine,
        profiles=profiles,
        records=records,
        background=background,
        knowledge=knowledge,
        safety=safety,
        ladder=ladder,
    )
    app.state.completions = CompletionsProxy(settings=settings, engine=engine, records=records, background=background)
    return app
