"""``python -m app.sessions`` as deployed: migrate, serve, readiness, and real concurrency on Postgres."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import httpx
from pydantic import SecretStr

from app.sessions.app import build_app
from app.sessions.settings import SessionsSettings
from tests.app.harness import IdentityFactory, PostgresDatabase, run_module, run_service_process


async def test_migrate_serve_and_concurrent_retries_with_one_key(
    sessions_database: PostgresDatabase, service_env: dict[str, str], identities: IdentityFactory
) -> None:
    env = {**service_env, "HELPLINE_DATABASE_URL": sessions_database.url}
    migrate = await run_module("app.sessions", "migrate", env=env)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr  # already at head: a no-op, not an error
    headers = identities.headers(identities.claims(uuid4()))
    with run_service_process("app.sessions", env) as service:
        async with httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=10) as client:
            assert (await client.get("/readyz")).json()["checks"] == {"database": "ok"}
            conversation = (await client.post("/internal/v1/conversations", json={})).json()["id"]
            path = f"/internal/v1/conversations/{conversation}/turns"
            body = {"content": "Refund please", "idempotency_key": "double-click"}
            # A double click: six requests at once on a real connection pool; the row lock serialises them.
            results = await asyncio.gather(*(client.post(path, json=body) for _ in range(6)))
            assert all(result.status_code == 200 for result in results), [r.text for r in results]
            assert sorted(result.json()["replayed"] for result in results) == [False] + [True] * 5
            assert len({result.json()["customer_message"]["id"] for result in results}) == 1
            messages = (await client.get(f"/internal/v1/conversations/{conversation}/messages")).json()["items"]
            assert len(messages) == 2


async def test_not_ready_without_its_database(internal_secret: str) -> None:
    settings = SessionsSettings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",
        environment="test",
        internal_token_secret=SecretStr(internal_secret),
    )
    app = build_app(settings, housekeeping=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sessions") as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] != "ok"
    await app.state.database.dispose()
