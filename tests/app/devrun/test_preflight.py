"""Checks before the start: a real vLLM's models (against the simulator, which speaks vLLM), Postgres, Redis."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import asyncpg
import pytest

from app.devrun.config import ConfigError, ExternalEngine
from app.devrun.plan import EngineModels
from app.devrun.preflight import (
    check_redis,
    choose_models,
    ensure_postgres_database,
    maintenance_dsn,
    probe_engine,
)
from app.enginesim.launcher import EngineSimProcess
from tests.app.harness import POSTGRES_DSN, REDIS_URL, free_port

CARDS = [{"id": "qwen-7b", "max_model_len": 32768}, {"id": "qwen-1.5b", "max_model_len": 4096}]


def external(**changes: object) -> ExternalEngine:
    fields: dict[str, object] = {"base_url": "http://gpu:8000", "api_key": None, "chat_model": None}
    fields["classifier_model"] = None
    fields.update(changes)
    return ExternalEngine(**fields)  # type: ignore[arg-type]


def test_the_first_served_model_chats_and_classifies_by_default() -> None:
    assert choose_models(external(), CARDS) == EngineModels(chat="qwen-7b", classifier="qwen-7b", max_model_len=32768)


def test_named_models_are_used_when_served() -> None:
    chosen = choose_models(external(chat_model="qwen-1.5b", classifier_model="qwen-1.5b"), CARDS)
    assert chosen == EngineModels(chat="qwen-1.5b", classifier="qwen-1.5b", max_model_len=4096)


def test_a_model_the_server_does_not_serve_is_named() -> None:
    with pytest.raises(
        ConfigError, match=r"VLLM_CLASSIFIER_MODEL='tiny' is not served .* it serves qwen-7b, qwen-1.5b"
    ):
        choose_models(external(classifier_model="tiny"), CARDS)
    with pytest.raises(ConfigError, match="serves no model"):
        choose_models(external(), [])


def test_a_card_without_max_model_len_falls_back_to_8192() -> None:
    assert choose_models(external(), [{"id": "m"}]).max_model_len == 8192


@pytest.fixture(scope="module")
def vllm() -> Iterator[EngineSimProcess]:
    """A vLLM-compatible server (the simulator) with an API key."""
    with EngineSimProcess(served_model_name="served-chat", api_key="vllm-key", max_model_len=16384) as engine:
        yield engine


async def test_probe_reads_the_models_of_a_vllm_server(vllm: EngineSimProcess) -> None:
    models = await probe_engine(external(base_url=vllm.base_url, api_key="vllm-key"))
    assert models == EngineModels(chat="served-chat", classifier="served-chat", max_model_len=16384)


async def test_probe_says_when_the_key_is_wrong_or_the_server_is_absent(vllm: EngineSimProcess) -> None:
    with pytest.raises(ConfigError, match="refused the key; set VLLM_API_KEY"):
        await probe_engine(external(base_url=vllm.base_url, api_key="wrong"))
    with pytest.raises(ConfigError, match="cannot be reached"):
        await probe_engine(external(base_url=f"http://127.0.0.1:{free_port()}"))


def test_maintenance_connection_goes_to_the_postgres_database() -> None:
    assert maintenance_dsn("postgresql+asyncpg://u:p@db:5433/helpline") == (
        "postgresql://u:p@db:5433/postgres",
        "helpline",
    )
    with pytest.raises(ConfigError, match="must name a database"):
        maintenance_dsn("postgresql+asyncpg://u@db")


async def test_the_database_is_created_once() -> None:
    name = f"helpline_devrun_{secrets.token_hex(4)}"
    url = POSTGRES_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    try:
        assert await ensure_postgres_database(url) is True
        assert await ensure_postgres_database(url) is False
    finally:
        admin = await asyncpg.connect(POSTGRES_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def test_an_unreachable_postgres_or_redis_is_named() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL: cannot connect to Postgres"):
        await ensure_postgres_database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x")
    await check_redis(REDIS_URL)
    with pytest.raises(ConfigError, match="REDIS_URL: Redis does not answer"):
        await check_redis(f"redis://127.0.0.1:{free_port()}/0")
