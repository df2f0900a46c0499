"""The peer scenario's arithmetic and the LiteLLM config it writes (the proxy itself runs only in ``make bench``)."""

from __future__ import annotations

from bench.peer import PUBLIC_MODEL, Target, litellm_config, phase_row
from bench.report import PhaseResult


def test_every_replica_is_a_deployment_of_the_public_model_with_a_rate_limit_and_the_master_key() -> None:
    config = litellm_config(["http://127.0.0.1:1", "http://127.0.0.1:2"], "qwen", "engine-key", "sk-master")
    deployments = config["model_list"]
    assert [deployment["model_name"] for deployment in deployments] == [PUBLIC_MODEL, PUBLIC_MODEL]
    assert [deployment["litellm_params"]["api_base"] for deployment in deployments] == [
        "http://127.0.0.1:1/v1",
        "http://127.0.0.1:2/v1",
    ]
    assert all(deployment["litellm_params"]["model"] == "openai/qwen" for deployment in deployments)
    assert all(deployment["litellm_params"]["rpm"] > 0 for deployment in deployments)
    assert config["general_settings"]["master_key"] == "sk-master"
    assert config["litellm_settings"]["telemetry"] is False


def phase(path: str, ttft_seconds: list[float], cpu: dict[str, float]) -> PhaseResult:
    return PhaseResult(
        path=path,
        concurrency=1,
        seconds=10.0,
        ttft=ttft_seconds,
        durations=[1.0] * len(ttft_seconds),
        completion_tokens=80 * len(ttft_seconds),
        errors={},
        cpu_seconds=cpu,
    )


def test_added_time_and_cpu_are_per_request_and_per_hop() -> None:
    direct = phase("direct", [0.050] * 10, {"engines": 0.1})
    ours = phase("helpline", [0.080] * 10, {"gateway": 0.3, "chat": 0.2, "router": 0.1, "engines": 0.1})
    row = phase_row(ours, direct, Target("helpline", "http://gw", "k", PUBLIC_MODEL, ("gateway", "chat", "router")))
    assert row["added_ttft_ms"] == {"p50": 30.0, "p99": 30.0}
    assert row["gateway_cpu_ms_per_request"] == 60.0
    assert row["cpu_ms_per_request_per_hop"] == 20.0
    direct_row = phase_row(direct, direct, Target("direct", "", "k", "qwen", ()))
    assert direct_row["added_ttft_ms"] == {}
    assert direct_row["gateway_cpu_ms_per_request"] is None
