"""Shared machinery of the app tests: real Postgres databases, Redis namespaces, HTTP servers, identity tokens.

Everything here is real: a fresh Postgres database per test session (migrated with each service's Alembic
revisions), Redis on 127.0.0.1 with a key prefix per test (parallel runs and other engineers' runs never see
each other's keys), uvicorn servers on free ports (in this event loop, or as subprocesses exactly as
``python -m app.<service>`` runs in the cluster).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from uuid import UUID, uuid4

import asyncpg
import httpx
import uvicorn
from redis.asyncio import Redis

from app.contracts.api import Role, Scope, Tier
from app.contracts.internal import IdentityClaims, PrincipalKind
from app.core.db import Database
from app.core.identity import mint_identity_token, mint_service_token
from app.core.migrations import upgrade_to_head
from app.core.waits import scaled

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_DSN = os.environ.get("HELPLINE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("HELPLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
#: a service's start-up (migrations, imports) on an idle machine; scaled by HELPLINE_WAIT_SCALE when waited on
STARTUP_TIMEOUT_SECONDS = 20.0


def random_secret() -> str:
    """A secret the settings accept outside development (long, random, not a placeholder)."""
    return secrets.token_urlsafe(48)


T = TypeVar("T")


# --- polling -------------------------------------------------------------------------------------------------
async def eventually(read: Callable[[], Awaitable[T]], ok: Callable[[T], bool], within_seconds: float = 5.0) -> T:
    """Poll ``read()`` until ``ok(value)`` (background work: charges, cancellations); fails after ``within_seconds``
    (times HELPLINE_WAIT_SCALE: background work is what a loaded machine delays first)."""
    deadline = time.monotonic() + scaled(within_seconds)
    while True:
        value = await read()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {scaled(within_seconds):g} s")
        await asyncio.sleep(0.01)


# --- Postgres ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PostgresDatabase:
    name: str
    dsn: str  # for asyncpg
    url: str  # for SQLAlchemy (postgresql+asyncpg://)


def _with_database(dsn: str, name: str) -> str:
    return dsn.rsplit("/", 1)[0] + "/" + name


async def create_test_database(prefix: str = "helpline_test") -> PostgresDatabase:
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(POSTGRES_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = _with_database(POSTGRES_DSN, name)
    return PostgresDatabase(name=name, dsn=dsn, url=dsn.replace("postgresql://", "postgresql+asyncpg://", 1))


async def drop_test_database(database: PostgresDatabase) -> None:
    admin = await asyncpg.connect(POSTGRES_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
    finally:
        await admin.close()


async def migrate(database: PostgresDatabase, script_location: Path, schema: str) -> None:
    """Run a service's Alembic revisions (in a thread: Alembic runs its own event loop)."""
    await asyncio.to_thread(upgrade_to_head, database.url, script_location, schema)


async def truncate_schema(database: PostgresDatabase, schema: str) -> None:
    """Empty every table of ``schema`` except Alembic's (isolation for tests that go through HTTP)."""
    connection = await asyncpg.connect(database.dsn)
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'alembic_version'", schema
        )
        if tables:
            names = ", ".join(f'"{schema}"."{row["tablename"]}"' for row in tables)
            await connection.execute(f"TRUNCATE {names} CASCADE")
    finally:
        await connection.close()


# --- Redis ------------------------------------------------------------------------------------------------------
def redis_namespace() -> str:
    """A key prefix of its own for one test (``hl:test:<random>:``)."""
    return f"hl:test:{secrets.token_hex(6)}:"


async def delete_namespace(redis_url: str, prefix: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


# --- identity -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IdentityFactory:
    """Mints the internal identity tokens the gateway would mint, for calling a service directly."""

    secret: str

    def claims(
        self,
        tenant_id: UUID | None = None,
        *,
        role: Role = Role.ADMIN,
        scopes: Sequence[Scope] | None = None,
        principal: PrincipalKind = "api_key",
        subject: str | None = None,
        key_id: UUID | None = None,
        tier: Tier | None = Tier.STANDARD,
    ) -> IdentityClaims:
        key_id = key_id or (uuid4() if principal == "api_key" else None)
        return IdentityClaims(
            tenant_id=tenant_id or uuid4(),
            principal=principal,
            subject=subject or str(key_id or uuid4()),
            role=role,
            scopes=list(scopes if scopes is not None else Scope),
            key_id=key_id,
            tier=tier,
        )

    def token(self, claims: IdentityClaims, *, issuer: str = "gateway", ttl_seconds: int = 300) -> str:
        return mint_identity_token(claims, secret=self.secret, issuer=issuer, ttl_seconds=ttl_seconds)

    def headers(self, claims: IdentityClaims) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(claims)}"}

    def service_headers(self, issuer: str = "gateway") -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_service_token(secret=self.secret, issuer=issuer)}"}


# --- HTTP servers -----------------------------------------------------------------------------------------------
def bound_socket() -> socket.socket:
    """A listening socket on a free 127.0.0.1 port (no race: the server is handed the socket itself).

    IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the protocol says TCP, and
    without it a response written in two parts waits ~40 ms for a delayed ACK.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def free_port() -> int:
    """A port free right now (for subprocesses, which bind it themselves)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    server: uvicorn.Server


@asynccontextmanager
async def serve_app(app: object) -> AsyncIterator[RunningServer]:
    """Run an ASGI app with uvicorn in this event loop on a free port, lifespan included; stop it after."""
    sock = bound_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, timeout_graceful_shutdown=2)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + scaled(STARTUP_TIMEOUT_SECONDS)
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn exited before starting")
            if time.monotonic() > deadline:
                raise TimeoutError("uvicorn did not start in time")
            await asyncio.sleep(0.005)
        yield RunningServer(base_url=f"http://127.0.0.1:{port}", server=server)
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass(frozen=True)
class ServiceProcess:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        """Everything the process wrote (stdout and stderr) so far."""
        return self.log_path.read_text(errors="replace")


@contextmanager
def run_service_process(
    module: str, env: Mapping[str, str], *, args: Sequence[str] = (), ready_path: str = "/healthz"
) -> Iterator[ServiceProcess]:
    """Start ``python -m <module>`` on a free port (HELPLINE_PORT), wait until it answers, stop it after.

    The process is terminated (SIGTERM, then SIGKILL after 10 s) unless the test already stopped it; its output
    is shown when it failed to start.
    """
    port = free_port()
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env, "HELPLINE_PORT": str(port), "HELPLINE_HOST": "127.0.0.1"}
    # Output goes to a file, not a pipe: a pipe nobody reads fills up and blocks a chatty process.
    log_dir = Path(tempfile.mkdtemp(prefix="helpline-process-"))
    log_path = log_dir / f"{module}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args], env=full_env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
    handle = ServiceProcess(base_url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        _wait_until_answering(handle, ready_path)
        yield handle
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=scaled(10))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(log_dir, ignore_errors=True)


async def run_module(
    module: str, *args: str, env: Mapping[str, str], timeout_seconds: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <module> <args>`` to completion (a CLI command such as ``migrate``) off the event loop."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=timeout_seconds,
        check=False,
    )


def _wait_until_answering(handle: ServiceProcess, ready_path: str) -> None:
    url = handle.base_url + ready_path
    deadline = time.monotonic() + scaled(STARTUP_TIMEOUT_SECONDS)
    while time.monotonic() < deadline:
        if handle.process.poll() is not None:
            raise RuntimeError(f"{url}: exited with {handle.process.returncode}:\n{handle.output()[-4000:]}")
        try:
            if httpx.get(url, timeout=0.5).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(
        f"{url} did not answer within {scaled(STARTUP_TIMEOUT_SECONDS):g} s (HELPLINE_WAIT_SCALE scales it)"
    )


@asynccontextmanager
async def rolled_back(database: Database) -> AsyncIterator[None]:
    """Bind an app's database to one connection inside an outer transaction, rolled back (and disposed) after.

    Everything the test writes through the app disappears with the rollback, so tests share a database freely.
    """
    async with database.engine.connect() as connection:
        outer = await connection.begin()
        database.bind_to(connection)
        try:
            yield
        finally:
            await outer.rollback()
    await database.dispose()
