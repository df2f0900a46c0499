"""The services as processes, the way ``make run`` starts them: SQLite, no Redis, env settings, SIGTERM.

``python -m app.auth bootstrap --migrate`` seeds a tenant; ``python -m app.auth`` and ``python -m app.gateway``
serve; sessions and chat are the in-process stand-in. Without Redis the gateway verifies every key with auth,
so a revocation applies to the very next request.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.app.harness import ROOT, run_service_process


def bootstrap(env: dict[str, str]) -> dict[str, str]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.auth",
            "bootstrap",
            "--migrate",
            "--tenant",
            "demo",
            "--admin-email",
            "admin@demo.test",
        ],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


async def test_auth_and_gateway_processes_serve_a_tenant_end_to_end(
    tmp_path: Path, service_env: dict[str, str], jwt_private_key_pem: str, stand_in: str
) -> None:
    auth_env = {
        **service_env,
        "HELPLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/auth.db",
        "HELPLINE_JWT_PRIVATE_KEY": jwt_private_key_pem,
    }
    seeded = bootstrap(auth_env)

    with run_service_process("app.auth", auth_env) as auth:
        gateway_env = {
            **service_env,
            "HELPLINE_LOG_LEVEL": "INFO",
            "HELPLINE_AUTH_URL": auth.base_url,
            "HELPLINE_SESSIONS_URL": stand_in,
            "HELPLINE_CHAT_URL": stand_in,
        }
        with run_service_process("app.gateway", gateway_env) as gateway:
            async with httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as client:
                key = {"Authorization": f"Bearer {seeded['api_key']}"}
                assert (await client.post("/v1/conversations", json={}, headers=key)).status_code == 201
                login = await client.post(
                    "/v1/auth/token",
                    json={"tenant": "demo", "email": "admin@demo.test", "password": seeded["admin_password"]},
                )
                admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
                keys = (await client.get("/v1/api-keys", headers=admin)).json()
                assert [item["prefix"] for item in keys] == [seeded["api_key"][:16]]

                assert (await client.delete(f"/v1/api-keys/{keys[0]['id']}", headers=admin)).status_code == 204
                refused = await client.post("/v1/conversations", json={}, headers=key)
                assert refused.status_code == 401
                assert refused.json()["detail"] == "The API key has been revoked."
                assert (await client.get("/readyz")).json()["checks"]["store"] == "ok"

                gateway.process.send_signal(signal.SIGTERM)
            # uvicorn drains, runs the lifespan shutdown, then re-raises SIGTERM so the exit status says why.
            assert gateway.process.wait(timeout=30) in (0, -signal.SIGTERM)
            assert '"event":"service_stopped"' in gateway.output()
