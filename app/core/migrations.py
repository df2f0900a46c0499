"""Alembic per service: ``python -m app.<service> migrate`` upgrades the service's schema to head.

Each service keeps its revisions in ``app/<service>/migrations/`` with a two-line ``env.py`` calling
``run_env(metadata)``. The version table lives inside the service's schema (services never share Alembic
state); on Postgres the schema is created first and an advisory lock serialises concurrent runs (two
migration Jobs racing during a rollout); on SQLite the schema is mapped away as at runtime, and the DDL runs in one transaction: Python's sqlite3 module
commits before every ``CREATE TABLE`` by default, so a ``make run`` interrupted during its first migration used to
leave half a schema that the next start could not migrate ("table conversations already exists").
"""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, MetaData, NullPool, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.core.db import ensure_sqlite_directory, is_sqlite, schema_translation
from app.core.logging import get_logger

log = get_logger(__name__)


def alembic_config(database_url: str, script_location: Path, schema: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["database_url"] = database_url
    config.attributes["schema"] = schema
    return config


def upgrade_to_head(database_url: str, script_location: Path, schema: str) -> None:
    """Apply every pending revision (synchronous: call it from a CLI or a thread, not from a running loop)."""
    log.info("migrate_start", schema=schema)
    command.upgrade(alembic_config(database_url, script_location, schema), "head")
    log.info("migrate_done", schema=schema)


def advisory_lock_key(schema: str) -> int:
    """A stable 32-bit key per schema for ``pg_advisory_lock`` (``hash()`` is salted per process)."""
    return zlib.crc32(f"helpline-migrate:{schema}".encode())


def make_sqlite_ddl_transactional(engine: AsyncEngine) -> None:
    """Let SQLite roll back DDL: the driver stops opening transactions itself and SQLAlchemy emits ``BEGIN``.

    SQLAlchemy's documented recipe for pysqlite/aiosqlite; SQLite itself has transactional DDL.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``."""
    config = context.config
    url: str = config.attributes["database_url"]
    schema: str = config.attributes.get("schema") or metadata.schema or "public"
    version_schema = None if is_sqlite(url) else schema
    if context.is_offline_mode():
        context.configure(
            url=url,
            target_metadata=metadata,
            version_table_schema=version_schema,
            include_schemas=True,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=version_schema,
            include_schemas=True,
            transactional_ddl=True,  # Postgres has it already; on SQLite see make_sqlite_ddl_transactional
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        ensure_sqlite_directory(url)
        engine = create_async_engine(url, poolclass=NullPool)
        if is_sqlite(url):
            make_sqlite_ddl_transactional(engine)
        try:
            async with engine.connect() as raw_connection:
                if not is_sqlite(url):
                    lock = text("SELECT pg_advisory_lock(:key)")  # released when the connection closes
                    await raw_connection.execute(lock, {"key": advisory_lock_key(schema)})
                    await raw_connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                    await raw_connection.commit()
                connection = await raw_connection.execution_options(**schema_translation(url, schema))
                await connection.run_sync(migrate)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())
