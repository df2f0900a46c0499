"""``python -m app.auth``: migrate and bootstrap as a real process, readiness, and settings refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from app.auth.app import build_app
from app.auth.settings import AuthSettings
from app.core.api_keys import is_well_formed_api_key
from tests.app.harness import ROOT, random_secret


def run_auth(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.auth", *args],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bootstrap_creates_the_tenant_admin_and_a_key_and_is_idempotent(tmp_path: Path) -> None:
    env = {"HELPLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/var/auth.db"}
    arguments = ("bootstrap", "--migrate", "--tenant", "acme", "--admin-email", "Admin@Acme.test", "--tier", "free")

    first = run_auth(*arguments, env=env)
    second = run_auth(*arguments, env=env)

    assert first.returncode == 0, first.stderr
    created = json.loads(first.stdout)
    assert created["tenant"] == "acme"
    assert created["admin_email"] == "admin@acme.test"
    assert created["admin_password"]
    assert is_well_formed_api_key(created["api_key"])
    assert created["api_key_tier"] == "free"
    again = json.loads(second.stdout)
    assert again["tenant_id"] == created["tenant_id"]
    assert again["admin_password"] is None  # the admin already exists: its password is not shown again
    assert again["api_key"] != created["api_key"]


def test_the_cli_refuses_placeholder_secrets_outside_development_naming_the_variable() -> None:
    result = run_auth(
        "migrate", env={"HELPLINE_ENVIRONMENT": "production", "HELPLINE_INTERNAL_TOKEN_SECRET": "change-me"}
    )

    assert result.returncode == 2
    assert "HELPLINE_INTERNAL_TOKEN_SECRET is a placeholder" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_signing_key_is_required_outside_development() -> None:
    with pytest.raises(ValidationError, match="HELPLINE_JWT_PRIVATE_KEY is required in production"):
        AuthSettings(environment="production", internal_token_secret=random_secret())  # type: ignore[arg-type]


async def test_readiness_follows_the_database() -> None:
    settings = AuthSettings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none", log_level="WARNING")
    app = build_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://auth") as client:
        response = await client.get("/readyz")
        live = await client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["type"] == "/problems/not-ready"
    assert response.json()["checks"]["database"].startswith("failed")
    assert live.status_code == 200


async def test_ready_when_the_database_and_redis_answer(auth_client: httpx.AsyncClient) -> None:
    response = await auth_client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
