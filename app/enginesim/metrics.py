"""vLLM's Prometheus metrics, built from the shared catalog so the simulator exports exactly what it lists.

Names, types and labels (``model_name`` = the served model name, ``engine`` = "0") come from
``app.contracts.metrics.VLLM_METRICS``; bucket boundaries are vLLM's own (vllm/v1/metrics/loggers.py), so
dashboards and alert thresholds built against the simulator read the same buckets in production.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from app.contracts.metrics import VLLM_METRICS, Metric

TTFT_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
    1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
)  # fmt: skip
INTER_TOKEN_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
)  # fmt: skip
REQUEST_LATENCY_BUCKETS = (
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
    40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
)  # fmt: skip

CollectorT = TypeVar("CollectorT", Counter, Gauge, Histogram)

#: Finish reasons vLLM pre-registers on ``vllm:request_success_total`` (so they read 0, not absent).
FINISHED_REASONS = ("stop", "length", "abort")

#: vLLM labels every series with the engine core's index; one simulator process is one engine core.
ENGINE_INDEX = "0"


def build_1_2_5_buckets(max_value: int) -> list[int]:
    """1, 2, 5, 10, 20, 50, ... up to ``max_value``: vLLM's buckets for token-count histograms."""
    buckets: list[int] = []
    exponent = 0
    while True:
        for mantissa in (1, 2, 5):
            value = mantissa * 10**exponent
            if value > max_value:
                return buckets
            buckets.append(value)
        exponent += 1


def histogram_buckets(max_model_len: int) -> dict[str, Sequence[float]]:
    """Bucket boundaries per histogram of the catalog."""
    token_buckets = [float(value) for value in build_1_2_5_buckets(max_model_len)]
    return {
        "vllm:time_to_first_token_seconds": TTFT_BUCKETS,
        "vllm:inter_token_latency_seconds": INTER_TOKEN_BUCKETS,
        "vllm:e2e_request_latency_seconds": REQUEST_LATENCY_BUCKETS,
        "vllm:request_queue_time_seconds": REQUEST_LATENCY_BUCKETS,
        "vllm:request_prompt_tokens": token_buckets,
        "vllm:request_generation_tokens": token_buckets,
    }


def _register(metric: Metric, registry: CollectorRegistry, buckets: Mapping[str, Sequence[float]]) -> object:
    if metric.kind == "counter":
        return Counter(metric.name, metric.help, metric.labels, registry=registry)
    if metric.kind == "gauge":
        return Gauge(metric.name, metric.help, metric.labels, registry=registry)
    if metric.name not in buckets:
        raise KeyError(f"no bucket boundaries for histogram {metric.name}: add vLLM's to histogram_buckets()")
    return Histogram(metric.name, metric.help, metric.labels, registry=registry, buckets=buckets[metric.name])


class EngineMetrics:
    """Every vLLM series for one served model, bound to its label values; the engine updates them."""

    def __init__(self, *, model_name: str, max_model_len: int, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        buckets = histogram_buckets(max_model_len)
        self._collectors = {metric.name: _register(metric, self.registry, buckets) for metric in VLLM_METRICS}
        labels = (model_name, ENGINE_INDEX)

        self.num_requests_running = self._collector("vllm:num_requests_running", Gauge).labels(*labels)
        self.num_requests_waiting = self._collector("vllm:num_requests_waiting", Gauge).labels(*labels)
        waiting_by_reason = self._collector("vllm:num_requests_waiting_by_reason", Gauge)
        #: The simulator's queue waits only for capacity (slots, KV blocks); nothing is deferred.
        self.num_requests_waiting_for_capacity = waiting_by_reason.labels(*labels, "capacity")
        waiting_by_reason.labels(*labels, "deferred").set(0)
        self.kv_cache_usage = self._collector("vllm:kv_cache_usage_perc", Gauge).labels(*labels)
        self.prompt_tokens = self._collector("vllm:prompt_tokens_total", Counter).labels(*labels)
        self.generation_tokens = self._collector("vllm:generation_tokens_total", Counter).labels(*labels)
        self.preemptions = self._collector("vllm:num_preemptions_total", Counter).labels(*labels)
        self.prefix_cache_queries = self._collector("vllm:prefix_cache_queries_total", Counter).labels(*labels)
        self.prefix_cache_hits = self._collector("vllm:prefix_cache_hits_total", Counter).labels(*labels)
        self.prompt_tokens_cached = self._collector("vllm:prompt_tokens_cached_total", Counter).labels(*labels)
        success = self._collector("vllm:request_success_total", Counter)
        self.request_success = {reason: success.labels(*labels, reason) for reason in FINISHED_REASONS}
        self.time_to_first_token = self._collector("vllm:time_to_first_token_seconds", Histogram).labels(*labels)
        self.inter_token_latency = self._collector("vllm:inter_token_latency_seconds", Histogram).labels(*labels)
        self.e2e_request_latency = self._collector("vllm:e2e_request_latency_seconds", Histogram).labels(*labels)
        self.request_queue_time = self._collector("vllm:request_queue_time_seconds", Histogram).labels(*labels)
        self.request_prompt_tokens = self._collector("vllm:request_prompt_tokens", Histogram).labels(*labels)
        self.request_generation_tokens = self._collector("vllm:request_generation_tokens", Histogram).labels(*labels)

    def track_state(
        self, *, running: Callable[[], float], waiting: Callable[[], float], kv_cache_usage: Callable[[], float]
    ) -> None:
        """Read the scheduler's state at scrape time instead of updating gauges on every step."""
        self.num_requests_running.set_function(running)
        self.num_requests_waiting.set_function(waiting)
        self.num_requests_waiting_for_capacity.set_function(waiting)
        self.kv_cache_usage.set_function(kv_cache_usage)

    def _collector(self, name: str, kind: type[CollectorT]) -> CollectorT:
        collector = self._collectors[name]
        if not isinstance(collector, kind):
            raise TypeError(f"{name} is a {type(collector).__name__} in the catalog, not a {kind.__name__}")
        return collector
