"""Reading the local run's settings: ports, data store URLs, the engine choice, and the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.devrun.cli import build_parser, config_from
from app.devrun.config import (
    DEFAULT_PORTS,
    ConfigError,
    ExternalEngine,
    RunConfig,
    SimulatedEngines,
    engine_from_environment,
    normalize_database_url,
    normalize_engine_url,
    normalize_redis_url,
    parse_port_overrides,
    resolve_ports,
)


def test_default_ports_are_the_designs() -> None:
    assert resolve_ports({}) == {
        "chat-engine-1": 8100,
        "chat-engine-2": 8101,
        "classifier-engine": 8110,
        "embedding-engine": 8120,
        "router": 8084,
        "auth": 8081,
        "sessions": 8082,
        "knowledge": 8085,
        "chat": 8083,
        "gateway": 8080,
    }


def test_ports_move_by_offset_and_by_name() -> None:
    ports = resolve_ports(parse_port_overrides(["gateway=9000"]), offset=1000)
    assert ports["gateway"] == 9000
    assert ports["auth"] == 9081
    assert ports["chat-engine-2"] == 9101


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("gateway", "NAME=PORT"),
        ("gatewy=9000", "NAME one of chat-engine-1"),
        ("gateway=http", "not a port number"),
        ("gateway=70000", "not a port number"),
    ],
)
def test_bad_port_overrides_name_the_flag(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_port_overrides([value])


def test_two_processes_on_one_port_are_refused() -> None:
    with pytest.raises(ConfigError, match="gateway and auth would both listen on port 8081"):
        resolve_ports({"gateway": 8081})
    with pytest.raises(ConfigError, match="outside 1-65535"):
        resolve_ports({}, offset=60000)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://postgres@127.0.0.1:5432/helpline", "postgresql+asyncpg://postgres@127.0.0.1:5432/helpline"),
        ("postgres://u:p@db/helpline", "postgresql+asyncpg://u:p@db/helpline"),
        ("postgresql+asyncpg://u@db/h", "postgresql+asyncpg://u@db/h"),
    ],
)
def test_database_url_becomes_sqlalchemys_asyncpg_url(url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected


@pytest.mark.parametrize("url", ["sqlite+aiosqlite:///var/x.db", "mysql://u@h/d", "127.0.0.1:5432"])
def test_database_url_must_be_postgres(url: str) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL must be a Postgres URL"):
        normalize_database_url(url)


def test_redis_url_must_be_redis() -> None:
    assert normalize_redis_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    with pytest.raises(ConfigError, match="REDIS_URL"):
        normalize_redis_url("127.0.0.1:6379")


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://gpu:8000", "http://gpu:8000"),
        ("http://gpu:8000/", "http://gpu:8000"),
        ("http://gpu:8000/v1", "http://gpu:8000"),
        ("https://vllm.internal/v1/", "https://vllm.internal"),
    ],
)
def test_vllm_base_url_becomes_the_servers_origin(url: str, origin: str) -> None:
    assert normalize_engine_url(url) == origin


@pytest.mark.parametrize("url", ["gpu:8000", "ftp://gpu", "http://gpu:8000/proxy/v1", "http://gpu/v1?x=1"])
def test_vllm_base_url_with_anything_but_v1_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="VLLM_BASE_URL must be a vLLM server's address"):
        normalize_engine_url(url)


def test_simulators_unless_vllm_base_url_is_set() -> None:
    assert engine_from_environment({}, ["--sim-jitter=0"]) == SimulatedEngines(extra_args=("--sim-jitter=0",))
    assert engine_from_environment(
        {"VLLM_BASE_URL": "http://gpu:8000/v1", "VLLM_API_KEY": "k", "VLLM_CHAT_MODEL": "qwen"}
    ) == ExternalEngine(base_url="http://gpu:8000", api_key="k", chat_model="qwen", classifier_model=None)


def test_command_line_and_environment_make_the_config(tmp_path: Path) -> None:
    arguments = build_parser().parse_args(
        ["--state-dir", str(tmp_path), "--port", "gateway=9080", "--log-level", "WARNING", "--fresh"]
    )
    config = config_from(
        arguments, {"DATABASE_URL": "postgresql://postgres@127.0.0.1/h", "REDIS_URL": "redis://127.0.0.1:6379/1"}
    )
    assert config.ports["gateway"] == 9080
    assert config.database_url == "postgresql+asyncpg://postgres@127.0.0.1/h"
    assert config.redis_url == "redis://127.0.0.1:6379/1"
    assert config.run_file == tmp_path / "run.json"
    assert config.log_level == "WARNING"
    assert config.fresh


def test_without_data_store_urls_each_service_gets_its_own_sqlite_file(tmp_path: Path) -> None:
    config = RunConfig(state_dir=tmp_path, ports=DEFAULT_PORTS, engine=SimulatedEngines())
    assert config.database_url_of("auth") == f"sqlite+aiosqlite:///{tmp_path.resolve()}/auth.db"
    assert config.database_url_of("chat") != config.database_url_of("sessions")
    shared = RunConfig(
        state_dir=tmp_path, ports=DEFAULT_PORTS, engine=SimulatedEngines(), database_url="postgresql+asyncpg://h/d"
    )
    assert shared.database_url_of("auth") == shared.database_url_of("chat") == "postgresql+asyncpg://h/d"


def test_a_real_vllm_replaces_the_engine_processes(tmp_path: Path) -> None:
    simulated = RunConfig(state_dir=tmp_path, ports=DEFAULT_PORTS, engine=SimulatedEngines())
    external = RunConfig(
        state_dir=tmp_path,
        ports=DEFAULT_PORTS,
        engine=ExternalEngine(base_url="http://gpu:8000", api_key=None, chat_model=None, classifier_model=None),
    )
    assert simulated.processes == tuple(DEFAULT_PORTS)
    assert external.processes == ("embedding-engine", "router", "auth", "sessions", "knowledge", "chat", "gateway")
