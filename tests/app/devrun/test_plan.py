"""What ``make run`` starts, checked as data: order, commands, settings, and where secrets go."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.devrun.config import DEFAULT_PORTS, ExternalEngine, RunConfig, SimulatedEngines
from app.devrun.plan import EngineModels, Plan, build_plan
from app.devrun.run_secrets import RunSecrets, generate_run_secrets
from app.knowledge.settings import SIMULATED_MIN_SIMILARITY

MODELS = EngineModels(chat="helpline-chat", classifier="helpline-classifier", max_model_len=8192)


@pytest.fixture(scope="module")
def run_secrets() -> RunSecrets:
    return generate_run_secrets()


def simulated(tmp_path: Path, **changes: object) -> RunConfig:
    return RunConfig(state_dir=tmp_path, ports=DEFAULT_PORTS, engine=SimulatedEngines(), **changes)  # type: ignore[arg-type]


def names(plan: Plan) -> list[list[str]]:
    return [[spec.name for spec in stage] for stage in plan.stages]


def test_start_order_is_the_request_path_backwards(tmp_path: Path, run_secrets: RunSecrets) -> None:
    plan = build_plan(simulated(tmp_path), run_secrets, MODELS, admin_password="pw")
    assert names(plan) == [
        ["chat-engine-1", "chat-engine-2", "classifier-engine", "embedding-engine"],
        ["router"],
        ["auth", "sessions", "knowledge", "chat"],
        ["gateway"],
    ]
    assert [spec.name for spec in plan.setup] == ["auth-setup", "sessions-setup", "knowledge-setup", "chat-setup"]
    services = ("auth", "sessions", "knowledge", "chat")
    assert plan.stages[plan.setup_before] == tuple(plan.process(name) for name in services)
    assert plan.process("knowledge-setup").argv[2:] == ("app.knowledge", "migrate")
    assert plan.process("auth-setup").argv[2:5] == ("app.auth", "bootstrap", "--migrate")
    assert plan.process("chat-setup").argv[2:] == ("app.chat", "migrate")


def test_readiness_is_health_for_engines_and_readyz_for_services(tmp_path: Path, run_secrets: RunSecrets) -> None:
    plan = build_plan(simulated(tmp_path), run_secrets, MODELS, admin_password="pw")
    assert plan.process("chat-engine-2").ready_url == "http://127.0.0.1:8101/health"
    assert plan.process("gateway").ready_url == "http://127.0.0.1:8080/readyz"
    assert plan.process("router").ready_url == "http://127.0.0.1:8084/readyz"
    assert all(spec.ready_url is None for spec in plan.setup)


def test_only_engines_restart(tmp_path: Path, run_secrets: RunSecrets) -> None:
    plan = build_plan(simulated(tmp_path), run_secrets, MODELS, admin_password="pw")
    restarting = {spec.name for stage in plan.stages for spec in stage if spec.max_restarts > 0}
    assert restarting == {"chat-engine-1", "chat-engine-2", "classifier-engine", "embedding-engine"}


def test_secrets_travel_in_the_environment_never_on_the_command_line(tmp_path: Path, run_secrets: RunSecrets) -> None:
    plan = build_plan(simulated(tmp_path), run_secrets, MODELS, admin_password="the-admin-password")
    every = [*plan.setup, *(spec for stage in plan.stages for spec in stage)]
    secret_values = [
        run_secrets.internal_token_secret,
        run_secrets.engine_api_key,
        run_secrets.sim_control_token,
        "the-admin-password",
    ]
    for spec in every:
        command_line = " ".join(spec.argv)
        assert not any(secret in command_line for secret in secret_values), spec.name
    assert plan.process("chat-engine-1").env["VLLM_API_KEY"] == run_secrets.engine_api_key
    assert plan.process("chat").env["HELPLINE_ENGINE_API_KEY"] == run_secrets.engine_api_key
    assert plan.process("chat").env["HELPLINE_PII_VAULT_KEY"] == run_secrets.pii_vault_key
    assert plan.process("auth").env["HELPLINE_JWT_PRIVATE_KEY"] == run_secrets.jwt_private_key_pem
    assert plan.process("auth-setup").env["HELPLINE_BOOTSTRAP_ADMIN_PASSWORD"] == "the-admin-password"
    services = ("router", "auth", "sessions", "chat", "gateway")
    assert {plan.process(name).env["HELPLINE_INTERNAL_TOKEN_SECRET"] for name in services} == {
        run_secrets.internal_token_secret
    }
    assert "<redacted>" in repr(run_secrets)


def test_services_run_in_development_on_loopback_with_their_ports(tmp_path: Path, run_secrets: RunSecrets) -> None:
    plan = build_plan(simulated(tmp_path), run_secrets, MODELS, admin_password="pw")
    for name in ("router", "auth", "sessions", "chat", "gateway"):
        env = plan.process(name).env
        assert env["HELPLINE_ENVIRONMENT"] == "development"
        assert env["HELPLINE_HOST"] == "127.0.0.1"
        assert env["HELPLINE_PORT"] == str(DEFAULT_PORTS[name])
    assert "--host" in plan.process("chat-engine-1").argv
    assert plan.process("chat-engine-1").argv[plan.process("chat-engine-1").argv.index("--host") + 1] == "127.0.0.1"


def test_the_request_path_is_wired_through_the_router(tmp_path: Path, run_secrets: RunSecrets) -> None:
    plan = build_plan(simulated(tmp_path), run_secrets, MODELS, admin_password="pw")
    gateway = plan.process("gateway").env
    assert gateway["HELPLINE_AUTH_URL"] == "http://127.0.0.1:8081"
    assert gateway["HELPLINE_SESSIONS_URL"] == "http://127.0.0.1:8082"
    assert gateway["HELPLINE_CHAT_URL"] == "http://127.0.0.1:8083"
    chat = plan.process("chat").env
    assert chat["HELPLINE_ENGINE_URL"] == "http://127.0.0.1:8084/v1"
    assert chat["HELPLINE_SESSIONS_URL"] == "http://127.0.0.1:8082"
    assert (chat["HELPLINE_CHAT_MODEL"], chat["HELPLINE_CLASSIFIER_MODEL"]) == ("helpline-chat", "helpline-classifier")
    backends = json.loads(plan.process("router").env["ROUTER_BACKENDS"])
    assert backends == {
        "helpline-chat": {"static": ["http://127.0.0.1:8100", "http://127.0.0.1:8101"]},
        "helpline-classifier": {"static": ["http://127.0.0.1:8110"]},
        "helpline-embedding": {"static": ["http://127.0.0.1:8120"]},
    }
    served = [spec.argv[spec.argv.index("--served-model-name") + 1] for spec in plan.stages[0]]
    assert served == ["helpline-chat", "helpline-chat", "helpline-classifier", "helpline-embedding"]
    assert "--runner" in plan.process("embedding-engine").argv


def test_the_knowledge_service_is_wired_and_embeds_through_the_router(tmp_path: Path, run_secrets: RunSecrets) -> None:
    plan = build_plan(simulated(tmp_path), run_secrets, MODELS, admin_password="pw")
    knowledge = plan.process("knowledge").env
    assert knowledge["HELPLINE_EMBEDDING_URL"] == "http://127.0.0.1:8084/v1"
    assert knowledge["HELPLINE_EMBEDDING_MODEL"] == "helpline-embedding"
    assert knowledge["HELPLINE_EMBEDDING_API_KEY"] == run_secrets.engine_api_key
    assert knowledge["HELPLINE_MIN_SIMILARITY"] == str(SIMULATED_MIN_SIMILARITY)
    assert knowledge["HELPLINE_DATABASE_URL"].endswith("/knowledge.db")
    assert plan.process("chat").env["HELPLINE_KNOWLEDGE_URL"] == "http://127.0.0.1:8085"
    assert plan.process("gateway").env["HELPLINE_KNOWLEDGE_URL"] == "http://127.0.0.1:8085"


def test_embedded_data_stores_by_default(tmp_path: Path, run_secrets: RunSecrets) -> None:
    plan = build_plan(simulated(tmp_path), run_secrets, MODELS, admin_password="pw")
    for name in ("auth", "sessions", "chat"):
        assert plan.process(name).env["HELPLINE_DATABASE_URL"].endswith(f"/{name}.db")
        assert (
            plan.process(f"{name}-setup").env["HELPLINE_DATABASE_URL"]
            == plan.process(name).env["HELPLINE_DATABASE_URL"]
        )
    assert "HELPLINE_REDIS_URL" not in plan.process("gateway").env
    assert "HELPLINE_REDIS_URL" not in plan.process("auth").env


def test_postgres_and_redis_when_given(tmp_path: Path, run_secrets: RunSecrets) -> None:
    config = simulated(tmp_path, database_url="postgresql+asyncpg://pg/helpline", redis_url="redis://r:6379/0")
    plan = build_plan(config, run_secrets, MODELS, admin_password="pw")
    for name in ("auth", "sessions", "chat", "auth-setup", "sessions-setup", "chat-setup"):
        assert plan.process(name).env["HELPLINE_DATABASE_URL"] == "postgresql+asyncpg://pg/helpline"
    # the gateway limits with Redis; auth writes revocations into the gateway's Redis
    assert plan.process("gateway").env["HELPLINE_REDIS_URL"] == "redis://r:6379/0"
    assert plan.process("auth").env["HELPLINE_REDIS_URL"] == "redis://r:6379/0"
    assert "HELPLINE_REDIS_URL" not in plan.process("sessions").env


def test_a_real_vllm_is_reached_through_the_router_in_static_mode(tmp_path: Path, run_secrets: RunSecrets) -> None:
    engine = ExternalEngine(base_url="http://gpu:8000", api_key="vllm-key", chat_model=None, classifier_model=None)
    config = RunConfig(state_dir=tmp_path, ports=DEFAULT_PORTS, engine=engine)
    models = EngineModels(chat="qwen2.5-7b-instruct", classifier="qwen2.5-7b-instruct", max_model_len=32768)
    plan = build_plan(config, run_secrets, models, admin_password="pw")
    assert names(plan) == [["embedding-engine"], ["router"], ["auth", "sessions", "knowledge", "chat"], ["gateway"]]
    assert plan.setup_before == 2
    assert json.loads(plan.process("router").env["ROUTER_BACKENDS"]) == {
        "qwen2.5-7b-instruct": {"static": ["http://gpu:8000"]},
        "helpline-embedding": {"static": ["http://127.0.0.1:8120"]},  # the embedding model stays simulated
    }
    chat = plan.process("chat").env
    assert chat["HELPLINE_ENGINE_API_KEY"] == "vllm-key"
    assert chat["HELPLINE_MAX_MODEL_LEN"] == "32768"
    assert chat["HELPLINE_CLASSIFIER_MODEL"] == "qwen2.5-7b-instruct"


def test_a_vllm_without_api_key_gets_none(tmp_path: Path, run_secrets: RunSecrets) -> None:
    engine = ExternalEngine(base_url="http://gpu:8000", api_key=None, chat_model=None, classifier_model=None)
    config = RunConfig(state_dir=tmp_path, ports=DEFAULT_PORTS, engine=engine)
    plan = build_plan(config, run_secrets, MODELS, admin_password="pw")
    assert "HELPLINE_ENGINE_API_KEY" not in plan.process("chat").env


def test_simulator_flags_pass_through_to_every_engine(tmp_path: Path, run_secrets: RunSecrets) -> None:
    config = RunConfig(state_dir=tmp_path, ports=DEFAULT_PORTS, engine=SimulatedEngines(extra_args=("--sim-jitter=0",)))
    plan = build_plan(config, run_secrets, MODELS, admin_password="pw")
    assert all(spec.argv[-1] == "--sim-jitter=0" for spec in plan.stages[0])
