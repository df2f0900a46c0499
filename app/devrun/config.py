"""What a local run uses: ports, data stores and the engine, read from the environment and the command line.

Pure parsing, no process started and no network touched, so every rule here has a plain test. The defaults
are the design's: every port of the services table, SQLite files under ``var/`` and an in-memory limiter
unless ``DATABASE_URL`` / ``REDIS_URL`` name real servers, and the engine simulators unless ``VLLM_BASE_URL``
names a real vLLM.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

#: Served model names of the simulators; the chat service's defaults name the same ones.
CHAT_MODEL = "helpline-chat"
CLASSIFIER_MODEL = "helpline-classifier"
#: The embedding model's served name (the knowledge service's default names the same one).
EMBEDDING_MODEL = "helpline-embedding"
#: The context length the simulators serve and the chat service budgets prompts for.
SIMULATED_MAX_MODEL_LEN = 8192

#: Every process of a local run and its port (the design's table). Engines first: that is the start order.
DEFAULT_PORTS: Mapping[str, int] = {
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
#: The simulated chat and classifier engines (replaced by VLLM_BASE_URL). The embedding engine is not among
#: them: it is simulated in every local run, since a chat vLLM rarely serves an embedding model beside.
ENGINE_PROCESSES = ("chat-engine-1", "chat-engine-2", "classifier-engine")
#: The services that own a database schema: each is migrated before it starts.
DATABASE_SERVICES = ("auth", "sessions", "knowledge", "chat")

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
_POSTGRES_SCHEMES = ("postgres", "postgresql", "postgresql+asyncpg")


class ConfigError(ValueError):
    """A setting of the local run is wrong; the message names the variable or flag and what is allowed."""


@dataclass(frozen=True)
class SimulatedEngines:
    """Two chat-model replicas and one classifier, simulated (``app.enginesim``)."""

    #: Extra simulator flags for every engine (the benchmark fixes the latency: ``--sim-jitter 0``).
    extra_args: tuple[str, ...] = ()
    #: Times a crashed engine is restarted before the run gives up (a kubelet restarts a crashed vLLM too).
    max_restarts: int = 3


@dataclass(frozen=True)
class ExternalEngine:
    """A real vLLM at ``base_url`` (scheme, host and port only) serving the chat and classifier models."""

    base_url: str
    api_key: str | None
    chat_model: str | None  # None: the first model the server lists
    classifier_model: str | None  # None: the chat model classifies too (structured outputs work on any model)


EngineChoice = SimulatedEngines | ExternalEngine


@dataclass(frozen=True)
class DemoTenant:
    slug: str = "demo"
    admin_email: str = "admin@demo.example"
    tier: str = "enterprise"  # the demo and the benchmark must not trip the free tier's 10 requests/minute
    end_user: str = "web-visitor"  # the web chat page's end user (subject of its widget token)


@dataclass(frozen=True)
class RunConfig:
    state_dir: Path
    ports: Mapping[str, int]
    engine: EngineChoice
    database_url: str | None = None  # None: one SQLite file per service under state_dir
    redis_url: str | None = None  # None: in-memory limiter, no key cache
    log_level: LogLevel = "INFO"
    fresh: bool = False  # delete the SQLite files first
    raw_logs: bool = False  # print the services' JSON log lines as they are
    run_file: Path | None = None
    demo: DemoTenant = field(default_factory=DemoTenant)

    @property
    def processes(self) -> tuple[str, ...]:
        """The long-running processes of this run, in start order."""
        engines = ENGINE_PROCESSES if isinstance(self.engine, SimulatedEngines) else ()
        return tuple(name for name in DEFAULT_PORTS if name not in ENGINE_PROCESSES or name in engines)

    def url_of(self, process: str) -> str:
        return f"http://127.0.0.1:{self.ports[process]}"

    def database_url_of(self, service: str) -> str:
        """The SQLAlchemy URL a service uses: its own SQLite file, or the shared Postgres (one schema each)."""
        if self.database_url is not None:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.sqlite_path(service)}"

    def sqlite_path(self, service: str) -> Path:
        return self.state_dir.resolve() / f"{service}.db"


def parse_port_overrides(values: Iterable[str]) -> dict[str, int]:
    """``["gateway=9080", ...]`` -> ``{"gateway": 9080}``; names must be processes of the run."""
    overrides: dict[str, int] = {}
    for value in values:
        name, separator, port_text = value.partition("=")
        if not separator or name not in DEFAULT_PORTS:
            raise ConfigError(f"--port expects NAME=PORT with NAME one of {', '.join(DEFAULT_PORTS)}; got {value!r}")
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ConfigError(f"--port {name}: {port_text!r} is not a port number (1-65535)")
        overrides[name] = int(port_text)
    return overrides


def resolve_ports(overrides: Mapping[str, int], offset: int = 0) -> dict[str, int]:
    """The design's ports shifted by ``offset`` (two runs side by side), then the explicit overrides."""
    ports = {name: port + offset for name, port in DEFAULT_PORTS.items()}
    ports.update(overrides)
    if not all(1 <= port <= 65535 for port in ports.values()):
        raise ConfigError(f"--port-offset {offset} moves ports outside 1-65535")
    taken: dict[int, str] = {}
    for name, port in ports.items():
        if port in taken:
            raise ConfigError(f"{name} and {taken[port]} would both listen on port {port}")
        taken[port] = name
    return ports


def normalize_database_url(url: str) -> str:
    """``DATABASE_URL`` as SQLAlchemy's asyncpg URL. Only Postgres: leave it unset for the per-service SQLite files
    (one SQLite file cannot hold three services' tables and Alembic version tables side by side)."""
    scheme, separator, rest = url.strip().partition("://")
    if not separator or scheme not in _POSTGRES_SCHEMES:
        raise ConfigError(
            "DATABASE_URL must be a Postgres URL (postgresql://user[:password]@host[:port]/database); "
            "leave it unset to use one SQLite file per service under var/"
        )
    return f"postgresql+asyncpg://{rest}"


def normalize_engine_url(url: str) -> str:
    """``VLLM_BASE_URL`` as the server's origin: ``http://gpu:8000/v1/`` -> ``http://gpu:8000``.

    The router takes replica origins (it adds the OpenAI paths itself), so a path other than ``/v1`` cannot be
    served and is refused rather than silently dropped.
    """
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    if parts.scheme not in ("http", "https") or not parts.netloc or path not in ("", "/v1") or parts.query:
        raise ConfigError(
            f"VLLM_BASE_URL must be a vLLM server's address, like http://gpu-host:8000 or http://gpu-host:8000/v1; "
            f"got {url!r}"
        )
    return f"{parts.scheme}://{parts.netloc}"


def engine_from_environment(environ: Mapping[str, str], sim_args: Iterable[str] = ()) -> EngineChoice:
    base_url = environ.get("VLLM_BASE_URL", "").strip()
    if not base_url:
        return SimulatedEngines(extra_args=tuple(sim_args))
    return ExternalEngine(
        base_url=normalize_engine_url(base_url),
        api_key=environ.get("VLLM_API_KEY") or None,
        chat_model=environ.get("VLLM_CHAT_MODEL") or None,
        classifier_model=environ.get("VLLM_CLASSIFIER_MODEL") or None,
    )


def optional_env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


_REDIS_URL = re.compile(r"^rediss?://")


def normalize_redis_url(url: str) -> str:
    if not _REDIS_URL.match(url):
        raise ConfigError("REDIS_URL must be a redis:// or rediss:// URL; leave it unset for the in-memory limiter")
    return url
