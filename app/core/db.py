"""SQLAlchemy 2 (async) per service: one engine, one transaction per request, schemas mapped away on SQLite.

Each service owns one schema (``auth``, ``sessions``, ``chat``) declared on its models' ``MetaData``; on Postgres
it is a real schema, on SQLite (the ``make run`` default, one file per service) ``schema_translate_map`` drops
it so the same models and migrations run unchanged. A request's writes commit together after the endpoint
returns (before the response is sent) or roll back together: no half-written rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, Dialect, Enum, MetaData, TypeDecorator, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.contracts import problems
from app.core.errors import ProblemError
from app.core.logging import get_logger

#: Deterministic constraint names, so migrations can drop and alter them by name on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Errors that mean "the database cannot be reached or used right now", not "this request is wrong".
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError, OSError)
#: SQLSTATE classes that mean the same whatever exception class the driver maps them to: 08 connection
#: exception ("connection was closed in the middle of operation"), 53 insufficient resources (too many
#: connections), 57 operator intervention (admin shutdown, "the database system is starting up / shutting
#: down", statement cancelled by a restart). asyncpg's errors reach SQLAlchemy as a plain ``DBAPIError`` for
#: these, which went out as 500s during a Postgres restart.
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")
#: How long a client should wait before retrying while the database is away (a restart takes seconds).
RETRY_AFTER_SECONDS = "2"

log = get_logger(__name__)


class DatabaseUnavailableError(ProblemError):
    problem = problems.DEPENDENCY_UNAVAILABLE


class UnstorableInputError(ProblemError):
    """Input the schema allowed but the database cannot store (SQLSTATE class 22, e.g. a NUL character)."""

    problem = problems.BAD_REQUEST


def sqlstate_of(exc: BaseException) -> str:
    """The SQLSTATE of a driver error (SQLAlchemy's wrapper or asyncpg's own), or ``""``."""
    orig = getattr(exc, "orig", None) or exc
    return str(getattr(orig, "sqlstate", "") or getattr(orig, "pgcode", "") or "")


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database is away or restarting, not that the request was wrong."""
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    if isinstance(orig, OSError | ConnectionError):
        return True
    return sqlstate_of(exc)[:2] in UNAVAILABLE_SQLSTATE_CLASSES


def is_data_exception(exc: DBAPIError) -> bool:
    """SQLSTATE class 22 ("data exception"): the value is wrong, not the server or the query."""
    return isinstance(exc, DataError) or str(getattr(exc.orig, "sqlstate", "") or "").startswith("22")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite hands back naive datetimes otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime (utcnow())")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def string_enum(enum: type[StrEnum], name: str, length: int = 16) -> Enum:
    """A column type storing ``enum``'s values in a VARCHAR (no native ENUM: a new member needs no migration)."""
    return Enum(
        enum, name=name, native_enum=False, length=length, values_callable=lambda members: [m.value for m in members]
    )


def service_metadata(schema: str) -> MetaData:
    """The ``MetaData`` of a service's models: its schema and the shared naming convention."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def schema_translation(url: str | URL, schema: str) -> dict[str, Any]:
    """Execution options mapping ``schema`` away on SQLite (which has no schemas); nothing on Postgres."""
    return {"schema_translate_map": {schema: None}} if is_sqlite(url) else {}


def ensure_sqlite_directory(url: str | URL) -> None:
    """Create the folder of a SQLite database file (``var/`` on a fresh clone)."""
    parsed = make_url(url)
    if is_sqlite(parsed) and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _prepare_sqlite(engine: AsyncEngine, url: URL) -> None:
    """Create the database file's folder; enforce foreign keys and use WAL (readers never block the writer)."""
    ensure_sqlite_directory(url)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def create_engine(url: str, *, schema: str, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    parsed = make_url(url)
    options: dict[str, Any] = {"execution_options": schema_translation(parsed, schema)}
    if not is_sqlite(parsed):
        # pre_ping: a connection dropped by a failover or idle timeout is replaced instead of failing a request.
        options.update(pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True, pool_recycle=1800)
    engine = create_async_engine(parsed, **options)
    if is_sqlite(parsed):
        _prepare_sqlite(engine, parsed)
    return engine


class Database:
    """A service's engine and session factory; ``transaction()`` is the unit of work of one request."""

    def __init__(self, url: str, *, schema: str, pool_size: int = 10, max_overflow: int = 10) -> None:
        self.url = url
        self.schema = schema
        self.engine = create_engine(url, schema=schema, pool_size=pool_size, max_overflow=max_overflow)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    def bind_to(self, connection: AsyncConnection) -> None:
        """Run every session inside ``connection``'s open transaction, as savepoints (test isolation)."""
        self.sessionmaker = async_sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed when the block ends normally, rolled back on any error."""
        try:
            async with self.sessionmaker() as session, session.begin():
                yield session
        except Exception as exc:  # the driver's own errors (asyncpg) can escape SQLAlchemy's wrapping too
            if is_unavailable(exc):
                raise unavailable(exc) from exc
            if isinstance(exc, DBAPIError) and is_data_exception(exc):
                raise UnstorableInputError(
                    "The request holds a value that cannot be stored (for example a NUL character)."
                ) from exc
            raise

    async def ping(self) -> None:
        """Readiness: one round trip (raises when the database does not answer)."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def unavailable(exc: BaseException) -> DatabaseUnavailableError:
    """The 503 (with ``Retry-After``) for a database that is away; logged once, without the query's values."""
    cause = getattr(exc, "orig", None) or exc
    log.warning("database_unavailable", error=type(cause).__name__, sqlstate=sqlstate_of(exc) or None)
    return DatabaseUnavailableError(
        "The database cannot be reached right now; retry shortly.", headers={"Retry-After": RETRY_AFTER_SECONDS}
    )


async def _request_transaction(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.database
    async with database.transaction() as session:
        yield session


#: The request's session: ``session: DbSession``. Commits before the response is sent (scope="function"), so a
#: failed commit becomes an error response instead of a success the database never saw.
DbSession = Annotated[AsyncSession, Depends(_request_transaction, scope="function")]
