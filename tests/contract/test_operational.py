"""/health, /v1/models and /metrics: what probes, routers and Prometheus rely on."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.contracts.metrics import VLLM_LABELS, VLLM_METRICS, VLLM_REMOVED_METRICS
from app.core.waits import scaled
from app.enginesim.launcher import EngineSimProcess
from tests.contract.support import Target


def test_health_is_200_with_an_empty_body(target: Target) -> None:
    response = target.get("/health")
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.simulator_only
def test_a_dead_engine_core_ends_the_server(target: Target) -> None:
    """vLLM 0.32: when the engine core dies, a request gets EngineDeadError and the API server exits (no lingering
    503). Its own simulator: the shared one must live. The real engine's death is checked end to end in
    tests/e2e/test_real_engine.py (the engine core killed mid-stream)."""
    with EngineSimProcess(served_model_name=target.model) as doomed:
        doomed.arm_fault("dead")
        assert doomed.wait_exit(scaled(10)) is not None


def test_models_lists_the_served_name_with_max_model_len(target: Target) -> None:
    models = target.openai.models.list()
    assert target.model in [model.id for model in models.data]
    body = target.get("/v1/models", headers=target.auth()).json()
    assert body["object"] == "list"
    card = next(card for card in body["data"] if card["id"] == target.model)
    assert card["object"] == "model"
    assert card["owned_by"] == "vllm"
    assert isinstance(card["created"], int)
    assert isinstance(card["max_model_len"], int)
    assert card["max_model_len"] > 0
    assert isinstance(card["root"], str)


def _families(target: Target) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    response = target.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        family.name: [(sample.name, sample.labels, sample.value) for sample in family.samples]
        for family in text_string_to_metric_families(response.text)
    }


def _family_name(name: str, kind: str) -> str:
    return name.removesuffix("_total") if kind == "counter" else name


def test_metrics_include_the_catalog_with_vllms_labels(target: Target) -> None:
    target.chat(messages=[{"role": "user", "content": "warm up the histograms"}], max_tokens=3)
    families = _families(target)
    for metric in VLLM_METRICS:
        family = _family_name(metric.name, metric.kind)
        assert family in families, f"{metric.name} is not exported"
        ours = [labels for _, labels, _ in families[family] if labels.get("model_name") == target.model]
        assert ours, f"{metric.name} has no series for model_name={target.model}"
        for labels in ours:
            assert set(VLLM_LABELS) <= set(labels)
            assert set(labels) - {"le"} == set(metric.labels), (metric.name, labels)
    for removed in VLLM_REMOVED_METRICS:
        assert removed not in families


@pytest.mark.simulator_only
def test_metrics_are_exactly_the_catalog(target: Target) -> None:
    exported = {name for name in _families(target) if name.startswith("vllm:") and not name.endswith("_created")}
    assert exported == {_family_name(metric.name, metric.kind) for metric in VLLM_METRICS}


def test_metrics_and_health_need_no_api_key(target: Target) -> None:
    assert target.get("/metrics").status_code == 200
    assert target.get("/health").status_code == 200
