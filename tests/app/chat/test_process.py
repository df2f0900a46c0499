"""``python -m app.chat`` as deployed: migrate, serve, readiness on its database and sessions."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from app.chat.app import build_app
from app.chat.settings import ChatSettings
from tests.app.chat.conftest import ENGINE_KEY
from tests.app.harness import PostgresDatabase, RunningServer, run_module, run_service_process


async def test_migrate_then_serve(
    chat_database: PostgresDatabase, sessions_server: RunningServer, service_env: dict[str, str]
) -> None:
    env = {
        **service_env,
        "HELPLINE_DATABASE_URL": chat_database.url,
        "HELPLINE_SESSIONS_URL": sessions_server.base_url,
        "HELPLINE_ENGINE_API_KEY": ENGINE_KEY,
    }
    migrate = await run_module("app.chat", "migrate", env=env)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    with run_service_process("app.chat", env) as service:
        async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as client:
            ready = await client.get("/readyz")
            assert ready.json() == {"status": "ready", "checks": {"database": "ok", "sessions": "ok"}}
            assert "helpline_http_requests_total" in (await client.get("/metrics")).text


async def test_not_ready_when_sessions_cannot_be_reached(chat_database: PostgresDatabase, internal_secret: str) -> None:
    settings = ChatSettings(
        database_url=chat_database.url,
        sessions_url="http://127.0.0.1:1",
        environment="test",
        internal_token_secret=SecretStr(internal_secret),
        engine_api_key=SecretStr(ENGINE_KEY),
    )
    app = build_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://chat") as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "ok", "sessions": "failed: DependencyUnavailableError"}
    await app.state.database.dispose()


def test_a_placeholder_engine_key_is_refused_outside_development(internal_secret: str) -> None:
    with pytest.raises(ValidationError, match="HELPLINE_ENGINE_API_KEY"):
        ChatSettings(
            environment="production",
            internal_token_secret=SecretStr(internal_secret),
            engine_api_key=SecretStr("change-me"),
        )
