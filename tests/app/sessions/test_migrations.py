"""The hand-written migration creates exactly what the models declare, on Postgres and on SQLite."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.db import schema_translation
from app.sessions.app import MIGRATIONS
from app.sessions.models import SCHEMA, Base
from tests.app.harness import PostgresDatabase, migrate


async def test_migrated_postgres_schema_matches_the_models(sessions_database: PostgresDatabase) -> None:
    engine = create_async_engine(sessions_database.url)
    try:
        async with engine.connect() as connection:

            def differences(sync_connection: object) -> list[object]:
                def ours(name: str | None, kind: str, _parent: object) -> bool:
                    if kind == "schema":
                        return name == SCHEMA
                    return not (kind == "table" and name == "alembic_version")

                context = MigrationContext.configure(
                    sync_connection,  # type: ignore[arg-type]
                    opts={"include_schemas": True, "include_name": ours},
                )
                return compare_metadata(context, Base.metadata)

            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


async def test_migrations_run_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sessions.db'}"
    await migrate(PostgresDatabase(name="sqlite", dsn="", url=url), MIGRATIONS, SCHEMA)
    engine = create_async_engine(url, execution_options=schema_translation(url, SCHEMA))
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    assert {"conversations", "messages", "feedback", "csat", "idempotency_keys", "alembic_version"} <= tables
