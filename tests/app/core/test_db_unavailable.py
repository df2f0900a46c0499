"""A database that is restarting is a 503 with Retry-After, whatever exception class the driver maps it to.

During a Postgres restart asyncpg raises "the database system is starting up / shutting down" (SQLSTATE 57P03,
57P01) and "connection was closed in the middle of operation" (08003); SQLAlchemy wraps them as a plain
``DBAPIError``, which went out as 500s. The restart itself, on a real cluster: tests/app/chat/test_database_restart.py.
"""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from app.core.db import Database, DatabaseUnavailableError, UnstorableInputError, is_unavailable


def wrapped(orig: Exception) -> DBAPIError:
    return DBAPIError("SELECT 1", None, orig)


@pytest.mark.parametrize(
    "orig",
    [
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        ConnectionResetError("reset by peer"),
    ],
    ids=["57P03-starting-up", "57P01-admin-shutdown", "08003-closed-mid-operation", "53300-too-many", "reset"],
)
async def test_a_database_going_away_is_unavailable_with_retry_after(orig: Exception) -> None:
    assert is_unavailable(wrapped(orig))
    assert is_unavailable(orig)  # unwrapped, as asyncpg can raise it past SQLAlchemy
    database = Database("sqlite+aiosqlite:///:memory:", schema="test")
    try:
        with pytest.raises(DatabaseUnavailableError) as raised:
            async with database.transaction():
                raise wrapped(orig)
        assert raised.value.status == 503
        assert raised.value.headers == {"Retry-After": "2"}
    finally:
        await database.dispose()


async def test_wrong_requests_are_not_mistaken_for_an_outage() -> None:
    assert not is_unavailable(wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key")))
    database = Database("sqlite+aiosqlite:///:memory:", schema="test")
    try:
        with pytest.raises(UnstorableInputError):
            async with database.transaction():
                raise wrapped(asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence"))
        with pytest.raises(ValueError, match="a bug"):
            async with database.transaction():
                raise ValueError("a bug")
    finally:
        await database.dispose()
