"""The database layer: one transaction per request, UTC timestamps everywhere, outages as 503s, migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import ClassVar

import asyncpg
import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.core.app_factory import create_app
from app.core.db import Database, DatabaseUnavailableError, DbSession, UtcDateTime, service_metadata, utcnow
from app.core.errors import NotFoundError
from app.core.migrations import advisory_lock_key
from app.core.settings import ServiceSettings
from tests.app.harness import PostgresDatabase


class Base(DeclarativeBase):
    metadata = service_metadata("demo")


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DemoSettings(ServiceSettings):
    service_name: ClassVar[str] = "demo-db"


router = APIRouter()


@router.post("/notes/{text}")
async def add_note(text: str, session: DbSession) -> dict[str, str]:
    session.add(Note(text=text))
    await session.flush()
    if text == "fail-after-write":
        raise NotFoundError("the write above must not survive")
    return {"saved": text}


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/var/demo.db", schema="demo")
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield database
    await database.dispose()


async def count_notes(database: Database) -> int:
    async with database.transaction() as session:
        return await session.scalar(select(func.count()).select_from(Note)) or 0


async def test_a_request_commits_all_its_writes_or_none(sqlite_database: Database) -> None:
    app = create_app(DemoSettings(), title="demo", routers=[router])
    app.state.database = sqlite_database
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client:
        assert (await client.post("/notes/kept")).status_code == 200
        assert (await client.post("/notes/fail-after-write")).status_code == 404

    async with sqlite_database.transaction() as session:
        texts = (await session.scalars(select(Note.text))).all()
    assert texts == ["kept"]


async def test_timestamps_come_back_aware_and_in_utc_even_on_sqlite(sqlite_database: Database) -> None:
    paris = datetime(2026, 1, 2, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    async with sqlite_database.transaction() as session:
        session.add(Note(text="t", at=paris))
    async with sqlite_database.transaction() as session:
        stored = await session.scalar(select(Note.at))

    assert stored == paris
    assert stored is not None
    assert stored.tzinfo == UTC


async def test_naive_timestamps_are_refused(sqlite_database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with sqlite_database.transaction() as session:
            session.add(Note(text="t", at=datetime(2026, 1, 1)))
    assert await count_notes(sqlite_database) == 0


async def test_an_unreachable_database_is_a_503_problem() -> None:
    database = Database("postgresql+asyncpg://postgres@127.0.0.1:1/nothing", schema="demo")
    try:
        with pytest.raises(DatabaseUnavailableError) as caught:
            async with database.transaction() as session:
                await session.execute(select(1))
    finally:
        await database.dispose()

    assert caught.value.status == 503


async def test_migrations_keep_their_version_table_inside_the_service_schema(auth_database: PostgresDatabase) -> None:
    connection = await asyncpg.connect(auth_database.dsn)
    try:
        tables = {
            (row["schemaname"], row["tablename"])
            for row in await connection.fetch("SELECT schemaname, tablename FROM pg_tables WHERE schemaname = 'auth'")
        }
    finally:
        await connection.close()

    assert ("auth", "alembic_version") in tables
    assert ("auth", "api_keys") in tables


def test_the_migration_lock_is_stable_per_schema() -> None:
    assert advisory_lock_key("auth") == advisory_lock_key("auth")
    assert advisory_lock_key("auth") != advisory_lock_key("sessions")
    assert 0 <= advisory_lock_key("auth") < 2**32
