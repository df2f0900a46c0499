"""Checks before anything starts: the real vLLM answers and serves the models, Postgres and Redis answer.

A wrong ``VLLM_BASE_URL`` or a stopped Postgres would otherwise surface as a service that never gets ready, one
minute and a page of logs later. Each check fails with one sentence naming the variable and what was seen.
The Postgres database named in ``DATABASE_URL`` is created when it does not exist yet (a local convenience:
the services create their schemas, not databases).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from app.devrun.config import ConfigError, ExternalEngine
from app.devrun.plan import EngineModels

DEFAULT_MAX_MODEL_LEN = 8192
PROBE_TIMEOUT_SECONDS = 5


def choose_models(engine: ExternalEngine, cards: Sequence[Mapping[str, Any]]) -> EngineModels:
    """The served names the chat service uses, checked against ``/v1/models``'s cards."""
    served = [str(card.get("id")) for card in cards if card.get("id")]
    if not served:
        raise ConfigError(f"VLLM_BASE_URL {engine.base_url} serves no model (/v1/models is empty)")
    chat = engine.chat_model or served[0]
    classifier = engine.classifier_model or chat
    for variable, name in (("VLLM_CHAT_MODEL", chat), ("VLLM_CLASSIFIER_MODEL", classifier)):
        if name not in served:
            raise ConfigError(f"{variable}={name!r} is not served by {engine.base_url}; it serves {', '.join(served)}")
    card = next(card for card in cards if card.get("id") == chat)
    max_model_len = card.get("max_model_len")
    return EngineModels(
        chat=chat,
        classifier=classifier,
        max_model_len=max_model_len if isinstance(max_model_len, int) else DEFAULT_MAX_MODEL_LEN,
    )


async def probe_engine(engine: ExternalEngine) -> EngineModels:
    """Ask the vLLM at ``engine.base_url`` which models it serves (with its API key, if any)."""
    headers = {"Authorization": f"Bearer {engine.api_key}"} if engine.api_key else {}
    url = f"{engine.base_url}/v1/models"
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_SECONDS) as client:
            response = await client.get(url, headers=headers)
    except httpx.TransportError as exc:
        raise ConfigError(f"VLLM_BASE_URL: {url} cannot be reached ({type(exc).__name__})") from exc
    if response.status_code == 401:
        raise ConfigError(f"VLLM_BASE_URL: {url} refused the key; set VLLM_API_KEY to the server's --api-key")
    if response.status_code != 200:
        raise ConfigError(f"VLLM_BASE_URL: {url} answered {response.status_code}, not a model list")
    try:
        cards = response.json()["data"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"VLLM_BASE_URL: {url} did not answer with an OpenAI model list") from exc
    return choose_models(engine, cards)


def maintenance_dsn(database_url: str) -> tuple[str, str]:
    """(asyncpg DSN of the server's ``postgres`` database, the database named in the URL)."""
    url = make_url(database_url)
    if not url.database:
        raise ConfigError("DATABASE_URL must name a database (postgresql://user@host:5432/helpline)")
    server = url.set(drivername="postgresql", database="postgres")
    return server.render_as_string(hide_password=False), url.database


async def ensure_postgres_database(database_url: str) -> bool:
    """Create the database of ``database_url`` if the server does not have it; True when it was created."""
    dsn, name = maintenance_dsn(database_url)
    try:
        connection = await asyncpg.connect(dsn, timeout=PROBE_TIMEOUT_SECONDS)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise ConfigError(f"DATABASE_URL: cannot connect to Postgres ({type(exc).__name__}: {exc})") from exc
    try:
        if await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        quoted = name.replace('"', '""')
        await connection.execute(f'CREATE DATABASE "{quoted}"')
        return True
    finally:
        await connection.close()


async def check_redis(redis_url: str) -> None:
    client = Redis.from_url(redis_url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS)
    try:
        await client.ping()
    except Exception as exc:
        raise ConfigError(f"REDIS_URL: Redis does not answer ({type(exc).__name__}: {exc})") from exc
    finally:
        await client.aclose()
