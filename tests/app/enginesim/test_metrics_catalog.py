"""The exported metrics are exactly the shared vLLM catalog, with vLLM's labels and buckets."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.metrics_core import Metric as MetricFamily
from prometheus_client.parser import text_string_to_metric_families

from app.contracts.metrics import VLLM_METRICS, VLLM_REMOVED_METRICS
from app.enginesim.metrics import (
    FINISHED_REASONS,
    INTER_TOKEN_BUCKETS,
    TTFT_BUCKETS,
    EngineMetrics,
    build_1_2_5_buckets,
)


def _families(metrics: EngineMetrics) -> dict[str, MetricFamily]:
    text = generate_latest(metrics.registry).decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_exports_exactly_the_catalog() -> None:
    metrics = EngineMetrics(model_name="helpline-chat", max_model_len=8192)
    exported = _families(metrics)
    # The text parser names counters without _total; prometheus_client adds *_created gauges as vLLM does.
    catalog = {
        metric.name.removesuffix("_total") if metric.kind == "counter" else metric.name for metric in VLLM_METRICS
    }
    assert {name for name in exported if not name.endswith("_created")} == catalog
    assert not set(exported) & set(VLLM_REMOVED_METRICS)
    for metric in VLLM_METRICS:
        family = exported[metric.name.removesuffix("_total") if metric.kind == "counter" else metric.name]
        assert family.type == metric.kind
        for sample in family.samples:
            labels = set(sample.labels) - {"le"}
            assert labels == set(metric.labels), (metric.name, sample.labels)
            assert sample.labels["model_name"] == "helpline-chat"
            assert sample.labels["engine"] == "0"


def test_finish_reasons_are_pre_registered() -> None:
    metrics = EngineMetrics(model_name="m", max_model_len=1024)
    family = _families(metrics)["vllm:request_success"]
    reasons = {sample.labels["finished_reason"] for sample in family.samples if sample.name.endswith("_total")}
    assert reasons == set(FINISHED_REASONS)


def test_buckets_are_vllms() -> None:
    metrics = EngineMetrics(model_name="m", max_model_len=2048)
    families = _families(metrics)

    def bounds(name: str) -> list[float]:
        return [float(s.labels["le"]) for s in families[name].samples if s.name.endswith("_bucket")][:-1]

    assert bounds("vllm:time_to_first_token_seconds") == list(TTFT_BUCKETS)
    assert bounds("vllm:inter_token_latency_seconds") == list(INTER_TOKEN_BUCKETS)
    assert bounds("vllm:request_prompt_tokens") == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]


def test_1_2_5_buckets() -> None:
    assert build_1_2_5_buckets(1) == [1]
    assert build_1_2_5_buckets(60) == [1, 2, 5, 10, 20, 50]


def test_state_gauges_read_at_scrape_time() -> None:
    metrics = EngineMetrics(model_name="m", max_model_len=1024)
    state = {"running": 3, "waiting": 7}
    metrics.track_state(running=lambda: state["running"], waiting=lambda: state["waiting"], kv_cache_usage=lambda: 0.25)
    state["waiting"] = 9
    families = _families(metrics)
    assert families["vllm:num_requests_running"].samples[0].value == 3
    assert families["vllm:num_requests_waiting"].samples[0].value == 9
    assert families["vllm:kv_cache_usage_perc"].samples[0].value == 0.25
