"""Fixtures shared by every app test: the session's Postgres database, per-test Redis namespaces, identities.

Service areas add their own fixtures in ``tests/app/<service>/conftest.py`` on top of these (migrating their
schema into ``test_database``, building their app with ``service_env``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.auth.app import MIGRATIONS as AUTH_MIGRATIONS
from app.auth.models import SCHEMA as AUTH_SCHEMA
from app.auth.settings import AuthSettings
from app.core.access_tokens import private_key_pem
from tests.app.harness import (
    REDIS_URL,
    IdentityFactory,
    PostgresDatabase,
    create_test_database,
    delete_namespace,
    drop_test_database,
    migrate,
    random_secret,
    redis_namespace,
)


@pytest.fixture(scope="session")
def internal_secret() -> str:
    """The HELPLINE_INTERNAL_TOKEN_SECRET every service of the test session shares."""
    return random_secret()


@pytest.fixture(scope="session")
def identities(internal_secret: str) -> IdentityFactory:
    return IdentityFactory(secret=internal_secret)


@pytest.fixture(scope="session")
async def test_database() -> AsyncIterator[PostgresDatabase]:
    """A fresh Postgres database for this session (each xdist worker gets its own); dropped at the end."""
    database = await create_test_database()
    try:
        yield database
    finally:
        await drop_test_database(database)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A Redis key prefix for one test (pass it as HELPLINE_REDIS_KEY_PREFIX); its keys are deleted after."""
    prefix = redis_namespace()
    try:
        yield prefix
    finally:
        await delete_namespace(redis_url, prefix)


@pytest.fixture(scope="session")
def service_env(internal_secret: str) -> dict[str, str]:
    """Environment every service process of the session runs with (settings refuse placeholders in test)."""
    return {
        "HELPLINE_ENVIRONMENT": "test",
        "HELPLINE_INTERNAL_TOKEN_SECRET": internal_secret,
        "HELPLINE_LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="session")
async def auth_database(test_database: PostgresDatabase) -> PostgresDatabase:
    """The session database with the auth schema migrated (auth runs behind every gateway test too)."""
    await migrate(test_database, AUTH_MIGRATIONS, AUTH_SCHEMA)
    return test_database


@pytest.fixture(scope="session")
def jwt_private_key_pem() -> str:
    """Auth's Ed25519 signing key for the session (HELPLINE_JWT_PRIVATE_KEY)."""
    return private_key_pem(Ed25519PrivateKey.generate())


@pytest.fixture
def auth_settings(
    auth_database: PostgresDatabase, internal_secret: str, redis_url: str, redis_prefix: str, jwt_private_key_pem: str
) -> AuthSettings:
    return AuthSettings(
        environment="test",
        internal_token_secret=internal_secret,  # type: ignore[arg-type]
        database_url=auth_database.url,
        redis_url=redis_url,
        redis_key_prefix=redis_prefix,
        jwt_private_key=jwt_private_key_pem,  # type: ignore[arg-type]
        log_level="WARNING",
    )
