"""The demo tenant of a local run: its credentials, the web chat link, the banner, and the run file.

Seeding is ``python -m app.auth bootstrap`` (idempotent for the tenant and its admin, a fresh API key each run).
The admin's password is generated once and kept in the state directory (``var/``, git-ignored, mode 0600), so
it stays valid across runs on the same data. The web chat link carries a widget token in its fragment, minted
the way a company embedding the chat would mint it from its backend (``POST /v1/widget-tokens`` with its key);
a fragment never reaches a server or a log. The run file (same directory, mode 0600) has everything a script,
a test or the benchmark needs to drive the running stack.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from app.devrun.config import RunConfig, SimulatedEngines
from app.devrun.plan import EngineModels

ADMIN_PASSWORD_FILE = "demo-admin-password"  # noqa: S105  (a file name)
#: The fictional shop's help centre every local run imports for the demo tenant (also the retrieval eval's corpus).
HELP_CENTRE = Path(__file__).resolve().parents[1] / "knowledge" / "demo_help_centre"
#: Longest a widget token may live (auth refuses more); the page says when it has expired.
WIDGET_TOKEN_TTL_SECONDS = 3600


class SeedingError(RuntimeError):
    """The demo tenant could not be prepared (its message says which step)."""


@dataclass(frozen=True)
class DemoCredentials:
    tenant: str
    tenant_id: str
    api_key: str
    api_key_tier: str
    admin_email: str
    admin_password: str


def write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by the owner only, atomically (no reader ever sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(path.name + ".tmp")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    staging.replace(path)


def admin_password(state_dir: Path) -> str:
    """The demo admin's password: the one kept from an earlier run, else a new one (kept for the next)."""
    path = state_dir / ADMIN_PASSWORD_FILE
    if path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(15)
    write_private(path, password + "\n")
    return password


def parse_bootstrap_output(lines: Sequence[str], password: str) -> DemoCredentials:
    """The credentials in ``bootstrap``'s JSON line (its other lines are logs)."""
    for line in reversed(lines):
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict) and "api_key" in document:
            return DemoCredentials(
                tenant=document["tenant"],
                tenant_id=document["tenant_id"],
                api_key=document["api_key"],
                api_key_tier=document["api_key_tier"],
                admin_email=document["admin_email"],
                # None when the admin already existed: created by an earlier run with the kept password.
                admin_password=document.get("admin_password") or password,
            )
    raise SeedingError("the auth bootstrap printed no credentials (its output is above)")


async def mint_widget_token(gateway_url: str, api_key: str, end_user: str) -> str:
    """A web-chat token for ``end_user``, as the embedding company's backend gets one."""
    try:
        async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as client:
            response = await client.post(
                "/v1/widget-tokens",
                json={"end_user_id": end_user, "ttl_seconds": WIDGET_TOKEN_TTL_SECONDS},
                headers={"Authorization": f"Bearer {api_key}"},
            )
    except httpx.TransportError as exc:
        raise SeedingError(f"the gateway did not answer POST /v1/widget-tokens ({type(exc).__name__})") from exc
    if response.status_code != 200:
        raise SeedingError(f"POST /v1/widget-tokens answered {response.status_code}: {response.text[:300]}")
    return str(response.json()["access_token"])


def help_centre_archive(folder: Path = HELP_CENTRE) -> bytes:
    """The demo help centre as a zip (the import API's body), files in a stable order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.glob("*.md")):
            archive.writestr(path.name, path.read_bytes())
    return buffer.getvalue()


async def import_help_centre(gateway_url: str, api_key: str) -> dict[str, Any]:
    """Import the demo help centre through the public API, as a tenant admin would (idempotent: a restart on the
    same data changes nothing). Returns the import's counts."""
    try:
        async with httpx.AsyncClient(base_url=gateway_url, timeout=120) as client:
            response = await client.post(
                "/v1/knowledge/imports",
                params={"publish": "true"},
                content=help_centre_archive(),
                headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/zip"},
            )
    except httpx.TransportError as exc:
        raise SeedingError(f"the gateway did not answer POST /v1/knowledge/imports ({type(exc).__name__})") from exc
    if response.status_code != 200:
        raise SeedingError(f"POST /v1/knowledge/imports answered {response.status_code}: {response.text[:300]}")
    return dict(response.json())


def chat_url(gateway_url: str, widget_token: str) -> str:
    return f"{gateway_url}/chat#token={widget_token}"


def engine_summary(config: RunConfig, models: EngineModels) -> str:
    if isinstance(config.engine, SimulatedEngines):
        ports = ", ".join(str(config.ports[name]) for name in ("chat-engine-1", "chat-engine-2"))
        return (
            f"simulated: {models.chat} x2 (:{ports}), {models.classifier} "
            f"(:{config.ports['classifier-engine']}), behind the router (:{config.ports['router']})"
        )
    return f"vLLM at {config.engine.base_url} ({models.chat}; classifier {models.classifier}), behind the router"


def data_summary(config: RunConfig) -> str:
    database = "Postgres (DATABASE_URL)" if config.database_url else f"SQLite files in {config.state_dir}/"
    limits = "Redis (REDIS_URL)" if config.redis_url else "in-memory limiter (set REDIS_URL for Redis)"
    return f"{database}; {limits}"


#: What the README's copy of the curl session says instead of a real key.
README_KEY = "<the API key make run printed>"


def curl_session(gateway_url: str, api_key: str) -> str:
    """The shell lines that create a conversation and stream an answer (the README shows the same)."""
    return "\n".join(
        [
            f"   export KEY='{api_key}'",
            f'   CONV=$(curl -s -X POST {gateway_url}/v1/conversations -H "Authorization: Bearer $KEY" \\',
            "            -H 'Content-Type: application/json' -d '{}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"id\"])')",
            f'   curl -N -X POST {gateway_url}/v1/conversations/$CONV/messages -H "Authorization: Bearer $KEY" \\',
            "        -H 'Accept: text/event-stream' -H 'Content-Type: application/json' \\",
            '        -d \'{"content": "Hi! My parcel has not arrived yet, can you help?"}\'',
        ]
    )


def banner(
    config: RunConfig, models: EngineModels, credentials: DemoCredentials, widget_token: str, run_file: Path | None
) -> str:
    gateway = config.url_of("gateway")
    rule = "-" * 100
    lines = [
        rule,
        " Helpline is running (development mode, secrets generated for this run)",
        "",
        f" Web chat   {chat_url(gateway, widget_token)}",
        f"            (end user {config.demo.end_user!r}; the link works for {WIDGET_TOKEN_TTL_SECONDS // 60} minutes)",
        f" API        {gateway}   (OpenAPI docs at {gateway}/docs)",
        f" API key    {credentials.api_key}",
        f"            (tenant {credentials.tenant!r}, {credentials.api_key_tier} tier, every scope)",
        f" Admin      {credentials.admin_email} / {credentials.admin_password}   (POST /v1/auth/token, tenant "
        f"{credentials.tenant!r})",
        f" Engine     {engine_summary(config, models)}",
        f" Data       {data_summary(config)}",
    ]
    if run_file is not None:
        lines.append(f" Run file   {run_file} (everything above, as JSON)")
    lines += [
        "",
        " Stream an answer:",
        curl_session(gateway, credentials.api_key),
        "",
        " Ctrl-C stops everything.",
        rule,
    ]
    return "\n".join(lines)


def run_document(
    config: RunConfig,
    models: EngineModels,
    credentials: DemoCredentials,
    widget_token: str,
    *,
    pids: Mapping[str, int | None],
    engine_api_key: str | None,
    sim_control_token: str | None,
) -> dict[str, Any]:
    gateway = config.url_of("gateway")
    return {
        "supervisor_pid": os.getpid(),
        "gateway_url": gateway,
        "chat_url": chat_url(gateway, widget_token),
        "widget_token": widget_token,
        "end_user": config.demo.end_user,
        **asdict(credentials),
        "models": asdict(models),
        "urls": {name: config.url_of(name) for name in config.processes},
        "pids": dict(pids),
        "engine_api_key": engine_api_key,
        "sim_control_token": sim_control_token,
        "database": "postgres" if config.database_url else "sqlite",
        "redis": config.redis_url is not None,
    }
