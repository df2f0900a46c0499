"""The processes of a local run, as data: commands, environments, readiness URLs and the start order.

Pure (a ``RunConfig`` and the run's secrets in, a ``Plan`` out), so what ``make run`` starts is tested without
starting anything. The order is the request path backwards: engines, router, then auth/sessions/chat, then the
gateway; the migrations and the demo tenant's seeding run alongside the engines and the router.

Secrets reach the children through their environment only, never their argv (``ps`` shows every user the
command lines of every process).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.devrun.config import (
    CHAT_MODEL,
    CLASSIFIER_MODEL,
    EMBEDDING_MODEL,
    SIMULATED_MAX_MODEL_LEN,
    ExternalEngine,
    RunConfig,
    SimulatedEngines,
)
from app.devrun.run_secrets import RunSecrets
from app.knowledge.settings import SIMULATED_MIN_SIMILARITY

ROOT = Path(__file__).resolve().parents[2]
#: Model ids the simulators report as ``root`` (the stack's defaults; the simulator only echoes them).
SIMULATED_CHAT_MODEL_ID = "Qwen/Qwen2.5-7B-Instruct-AWQ"
SIMULATED_CLASSIFIER_MODEL_ID = "Qwen/Qwen2.5-1.5B-Instruct"
SIMULATED_CLASSIFIER_MAX_MODEL_LEN = 4096
SIMULATED_EMBEDDING_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
SIMULATED_EMBEDDING_MAX_MODEL_LEN = 256
#: A local Ctrl-C should not wait the production 25 s drain for a stream someone left open.
SHUTDOWN_GRACE_SECONDS = 5


@dataclass(frozen=True)
class ProcessSpec:
    """One child process: ``python -m <module> ...`` with ``env`` on top of the supervisor's environment."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    #: Polled until it answers 200 (long-running processes); None for one-shot commands.
    ready_url: str | None = None
    #: Times the process is restarted after an unexpected exit before the run gives up (engines only).
    max_restarts: int = 0


@dataclass(frozen=True)
class Plan:
    #: One-shot commands (migrations, seeding), run in parallel with the stages before ``setup_before``.
    setup: tuple[ProcessSpec, ...]
    #: Long-running processes, started stage by stage; each stage is ready before the next starts.
    stages: tuple[tuple[ProcessSpec, ...], ...]
    #: The first stage that needs the setup commands finished (the services that own a database).
    setup_before: int = 0

    def process(self, name: str) -> ProcessSpec:
        for spec in (*self.setup, *(spec for stage in self.stages for spec in stage)):
            if spec.name == name:
                return spec
        raise KeyError(name)


@dataclass(frozen=True)
class EngineModels:
    """What the chat service is told about the engine: served names and the chat model's context length."""

    chat: str
    classifier: str
    max_model_len: int


def python_module(module: str, *args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", module, *args)


def service_env(config: RunConfig, run_secrets: RunSecrets, name: str) -> dict[str, str]:
    """Settings every Helpline service of the run shares, plus its own port."""
    return {
        "HELPLINE_ENVIRONMENT": "development",
        "HELPLINE_INTERNAL_TOKEN_SECRET": run_secrets.internal_token_secret,
        "HELPLINE_LOG_LEVEL": config.log_level,
        "HELPLINE_HOST": "127.0.0.1",
        "HELPLINE_PORT": str(config.ports[name]),
        "HELPLINE_SHUTDOWN_GRACE_SECONDS": str(SHUTDOWN_GRACE_SECONDS),
    }


def simulated_engine(
    config: RunConfig,
    run_secrets: RunSecrets,
    *,
    name: str,
    model_id: str,
    served_name: str,
    max_model_len: int,
    extra_args: tuple[str, ...] = (),
    max_restarts: int = 0,
    api_key: str | None = None,
) -> ProcessSpec:
    """One simulator process; it requires ``api_key`` on ``/v1/*`` (default: the run's generated engine key)."""
    argv = python_module(
        "app.enginesim",
        model_id,
        "--served-model-name",
        served_name,
        "--host",
        "127.0.0.1",
        "--port",
        str(config.ports[name]),
        "--max-model-len",
        str(max_model_len),
        "--uvicorn-log-level",
        "warning",
        "--sim-shutdown-timeout",
        str(SHUTDOWN_GRACE_SECONDS),
        *extra_args,
    )
    key = run_secrets.engine_api_key if api_key is None else api_key
    env = {"VLLM_API_KEY": key, "ENGINESIM_CONTROL_TOKEN": run_secrets.sim_control_token}
    return ProcessSpec(name, argv, env, ready_url=f"{config.url_of(name)}/health", max_restarts=max_restarts)


def simulated_engines(config: RunConfig, engines: SimulatedEngines, run_secrets: RunSecrets) -> tuple[ProcessSpec, ...]:
    def engine(name: str, model_id: str, served_name: str, max_model_len: int) -> ProcessSpec:
        return simulated_engine(
            config,
            run_secrets,
            name=name,
            model_id=model_id,
            served_name=served_name,
            max_model_len=max_model_len,
            extra_args=engines.extra_args,
            max_restarts=engines.max_restarts,
        )

    return (
        engine("chat-engine-1", SIMULATED_CHAT_MODEL_ID, CHAT_MODEL, SIMULATED_MAX_MODEL_LEN),
        engine("chat-engine-2", SIMULATED_CHAT_MODEL_ID, CHAT_MODEL, SIMULATED_MAX_MODEL_LEN),
        engine(
            "classifier-engine", SIMULATED_CLASSIFIER_MODEL_ID, CLASSIFIER_MODEL, SIMULATED_CLASSIFIER_MAX_MODEL_LEN
        ),
    )


def embedding_engine(config: RunConfig, run_secrets: RunSecrets) -> ProcessSpec:
    """The simulated embedding model (``--runner pooling``, as vLLM serves one), in every local run (with the
    simulators' extra flags when the chat engines are simulated too). It takes the key of the engine the run
    talks to, a real vLLM's included: one key for everything behind the router, whose ``/v1/models`` asks them all."""
    extra_args = config.engine.extra_args if isinstance(config.engine, SimulatedEngines) else ()
    return simulated_engine(
        config,
        run_secrets,
        name="embedding-engine",
        model_id=SIMULATED_EMBEDDING_MODEL_ID,
        served_name=EMBEDDING_MODEL,
        max_model_len=SIMULATED_EMBEDDING_MAX_MODEL_LEN,
        extra_args=("--runner", "pooling", *extra_args),
        max_restarts=3,
        api_key=engine_api_key(config, run_secrets) or "",
    )


def router_backends(config: RunConfig, models: EngineModels) -> dict[str, dict[str, list[str]]]:
    """``ROUTER_BACKENDS``: the simulators by model, or every model on the one vLLM."""
    embedding = {EMBEDDING_MODEL: {"static": [config.url_of("embedding-engine")]}}
    if isinstance(config.engine, ExternalEngine):
        origin = [config.engine.base_url]
        return {models.chat: {"static": origin}, models.classifier: {"static": origin}, **embedding}
    return {
        models.chat: {"static": [config.url_of("chat-engine-1"), config.url_of("chat-engine-2")]},
        models.classifier: {"static": [config.url_of("classifier-engine")]},
        **embedding,
    }


def engine_api_key(config: RunConfig, run_secrets: RunSecrets) -> str | None:
    if isinstance(config.engine, ExternalEngine):
        return config.engine.api_key
    return run_secrets.engine_api_key


def build_plan(config: RunConfig, run_secrets: RunSecrets, models: EngineModels, *, admin_password: str) -> Plan:
    """Every process of the run. ``models`` comes from the simulators' names or the real vLLM's ``/v1/models``."""

    def service(name: str, module: str, env: Mapping[str, str], *args: str) -> ProcessSpec:
        full_env = {**service_env(config, run_secrets, name), **env}
        return ProcessSpec(name, python_module(module, *args), full_env, ready_url=f"{config.url_of(name)}/readyz")

    redis = {"HELPLINE_REDIS_URL": config.redis_url} if config.redis_url else {}
    auth_env = {
        "HELPLINE_DATABASE_URL": config.database_url_of("auth"),
        "HELPLINE_JWT_PRIVATE_KEY": run_secrets.jwt_private_key_pem,
        **redis,
    }
    key = engine_api_key(config, run_secrets)
    chat_env = {
        "HELPLINE_DATABASE_URL": config.database_url_of("chat"),
        "HELPLINE_SESSIONS_URL": config.url_of("sessions"),
        "HELPLINE_ENGINE_URL": f"{config.url_of('router')}/v1",
        "HELPLINE_CHAT_MODEL": models.chat,
        "HELPLINE_CLASSIFIER_MODEL": models.classifier,
        "HELPLINE_MAX_MODEL_LEN": str(models.max_model_len),
        # the degradation ladder as in the stacks: the classifier answers while the chat model is down
        "HELPLINE_DEGRADATION_LADDER": "true",
        "HELPLINE_FALLBACK_MODEL": models.classifier,
        "HELPLINE_FALLBACK_MAX_MODEL_LEN": str(min(models.max_model_len, SIMULATED_CLASSIFIER_MAX_MODEL_LEN)),
        "HELPLINE_PII_VAULT_KEY": run_secrets.pii_vault_key,
        "HELPLINE_KNOWLEDGE_URL": config.url_of("knowledge"),
        **({"HELPLINE_ENGINE_API_KEY": key} if key else {}),
    }
    knowledge_env = {
        "HELPLINE_DATABASE_URL": config.database_url_of("knowledge"),
        # through the router, like chat's models; the simulated embedding engine takes the engine's key
        "HELPLINE_EMBEDDING_URL": f"{config.url_of('router')}/v1",
        "HELPLINE_EMBEDDING_MODEL": EMBEDDING_MODEL,
        **({"HELPLINE_EMBEDDING_API_KEY": key} if key else {}),
        "HELPLINE_MIN_SIMILARITY": str(SIMULATED_MIN_SIMILARITY),
    }
    router = ProcessSpec(
        "router",
        python_module("app.router", "serve"),
        {**service_env(config, run_secrets, "router"), "ROUTER_BACKENDS": json.dumps(router_backends(config, models))},
        ready_url=f"{config.url_of('router')}/readyz",
    )
    demo = config.demo
    setup = (
        ProcessSpec(
            "auth-setup",
            python_module(
                "app.auth",
                "bootstrap",
                "--migrate",
                "--tenant",
                demo.slug,
                "--tenant-name",
                "Demo company",
                "--admin-email",
                demo.admin_email,
                "--tier",
                demo.tier,
            ),
            {
                **service_env(config, run_secrets, "auth"),
                **auth_env,
                "HELPLINE_BOOTSTRAP_ADMIN_PASSWORD": admin_password,
            },
        ),
        ProcessSpec(
            "sessions-setup",
            python_module("app.sessions", "migrate"),
            {
                **service_env(config, run_secrets, "sessions"),
                "HELPLINE_DATABASE_URL": config.database_url_of("sessions"),
            },
        ),
        ProcessSpec(
            "knowledge-setup",
            python_module("app.knowledge", "migrate"),
            {**service_env(config, run_secrets, "knowledge"), **knowledge_env},
        ),
        ProcessSpec(
            "chat-setup",
            python_module("app.chat", "migrate"),
            {**service_env(config, run_secrets, "chat"), "HELPLINE_DATABASE_URL": config.database_url_of("chat")},
        ),
    )
    services = (
        service("auth", "app.auth", auth_env, "serve"),
        service("sessions", "app.sessions", {"HELPLINE_DATABASE_URL": config.database_url_of("sessions")}, "serve"),
        service("knowledge", "app.knowledge", knowledge_env, "serve"),
        service("chat", "app.chat", chat_env, "serve"),
    )
    gateway_env = {
        "HELPLINE_AUTH_URL": config.url_of("auth"),
        "HELPLINE_SESSIONS_URL": config.url_of("sessions"),
        "HELPLINE_CHAT_URL": config.url_of("chat"),
        "HELPLINE_KNOWLEDGE_URL": config.url_of("knowledge"),
        **redis,
    }
    gateway = service("gateway", "app.gateway", gateway_env, "serve")
    stages: list[tuple[ProcessSpec, ...]] = []
    engines = (
        simulated_engines(config, config.engine, run_secrets) if isinstance(config.engine, SimulatedEngines) else ()
    )
    stages.append((*engines, embedding_engine(config, run_secrets)))
    stages.append((router,))
    setup_before = len(stages)  # engines, router and the migrations start together: they do not depend on each other
    stages += [services, (gateway,)]
    return Plan(setup=setup, stages=tuple(stages), setup_before=setup_before)
