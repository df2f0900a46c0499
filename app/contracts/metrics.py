"""Metric catalogs: what vLLM exports (and so the engine simulator), and what our services export.

A dashboard panel, an alert rule or a KEDA query that names a metric not listed here is a bug: it would
silently read nothing in production. ``tests/infra`` check every expression against these catalogs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class Metric:
    name: str
    kind: MetricKind
    labels: tuple[str, ...]
    help: str

    def series_names(self) -> tuple[str, ...]:
        """The names Prometheus stores: histograms as _bucket/_sum/_count, counters as given (with _total)."""
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


# --- vLLM (as seen on 0.32.0: tests/contract checks this list on the real engine) ---------------------------------------------------------------------------------
#: Labels vLLM puts on every engine metric. There is no ``model`` or ``deployment`` label: queries on those
#: return nothing, which is the classic broken autoscaler.
VLLM_LABELS = ("model_name", "engine")

VLLM_METRICS: tuple[Metric, ...] = (
    Metric("vllm:num_requests_running", "gauge", VLLM_LABELS, "Requests in model execution batches."),
    Metric("vllm:num_requests_waiting", "gauge", VLLM_LABELS, "Requests waiting to be scheduled."),
    Metric(
        "vllm:num_requests_waiting_by_reason",
        "gauge",
        (*VLLM_LABELS, "reason"),
        "Waiting requests by why they wait (capacity: no free slot or KV blocks; deferred). New in 0.32's families.",
    ),
    Metric("vllm:kv_cache_usage_perc", "gauge", VLLM_LABELS, "KV-cache usage, 0 to 1 (1 = full)."),
    Metric("vllm:prompt_tokens_total", "counter", VLLM_LABELS, "Prefill tokens processed."),
    Metric("vllm:generation_tokens_total", "counter", VLLM_LABELS, "Generation tokens processed."),
    Metric(
        "vllm:request_success_total",
        "counter",
        (*VLLM_LABELS, "finished_reason"),
        "Successfully finished requests, by finish reason (stop, length, abort).",
    ),
    Metric("vllm:num_preemptions_total", "counter", VLLM_LABELS, "Cumulative preemptions from the engine."),
    Metric("vllm:prefix_cache_queries_total", "counter", VLLM_LABELS, "Prefix-cache queries, in tokens."),
    Metric("vllm:prefix_cache_hits_total", "counter", VLLM_LABELS, "Prefix-cache hits, in tokens."),
    Metric("vllm:prompt_tokens_cached_total", "counter", VLLM_LABELS, "Prompt tokens served from the prefix cache."),
    Metric("vllm:time_to_first_token_seconds", "histogram", VLLM_LABELS, "Time to first token."),
    Metric("vllm:inter_token_latency_seconds", "histogram", VLLM_LABELS, "Latency between output tokens."),
    Metric("vllm:e2e_request_latency_seconds", "histogram", VLLM_LABELS, "End-to-end request latency."),
    Metric("vllm:request_queue_time_seconds", "histogram", VLLM_LABELS, "Time requests spent in WAITING."),
    Metric("vllm:request_prompt_tokens", "histogram", VLLM_LABELS, "Prompt tokens per request."),
    Metric("vllm:request_generation_tokens", "histogram", VLLM_LABELS, "Generation tokens per request."),
)

#: Exported only by an engine started with ``--kv-offloading-size`` (native CPU offloading), named as in vLLM 0.32's
#: ``vllm/distributed/kv_transfer/kv_connector/v1/offloading/metrics.py``. The CPU build cannot run the offloading
#: connector, so the real-engine metric check (tests/infra/test_vllm_metrics.py) takes these from this list.
VLLM_KV_OFFLOAD_METRICS: tuple[Metric, ...] = (
    Metric("vllm:kv_offload_store_bytes_total", "counter", VLLM_LABELS, "Bytes of KV cache offloaded to host memory."),
    Metric("vllm:kv_offload_load_bytes_total", "counter", VLLM_LABELS, "Bytes of KV cache loaded back from the host."),
)

#: Removed in vLLM 0.12; must appear nowhere (dashboards, alerts, autoscaling).
VLLM_REMOVED_METRICS = ("vllm:gpu_cache_usage_perc", "vllm:cpu_cache_usage_perc", "vllm:num_requests_swapped")


# --- Helpline services ----------------------------------------------------------------------------------------
HTTP_LABELS = ("service", "method", "route", "status")

SERVICE_METRICS: tuple[Metric, ...] = (
    Metric("helpline_http_requests_total", "counter", HTTP_LABELS, "HTTP requests served, by route template."),
    Metric(
        "helpline_http_request_duration_seconds",
        "histogram",
        ("service", "method", "route"),
        "Time to the end of the response (to the first byte for streams: see time_to_first_token).",
    ),
    Metric("helpline_http_requests_in_flight", "gauge", ("service",), "Requests being served now."),
    Metric(
        "helpline_time_to_first_token_seconds",
        "histogram",
        ("service", "model"),
        "From receiving a customer message to sending its first answer token, as the customer sees it.",
    ),
    Metric(
        "helpline_tokens_total",
        "counter",
        ("model", "kind"),
        "Tokens charged from engine usage; kind=prompt|completion.",
    ),
    Metric(
        "helpline_tenant_tokens_total",
        "counter",
        ("tenant", "kind"),
        "Tokens charged per tenant (its id, not its name); kind=prompt|completion. The cost rules share the GPU spend "
        "by it.",
    ),
    Metric("helpline_active_streams", "gauge", ("service",), "SSE streams open now."),
    Metric(
        "helpline_rate_limit_rejections_total",
        "counter",
        ("tier", "limit"),
        "Requests refused at the gateway; limit=requests|tokens|streams.",
    ),
    Metric("helpline_handoffs_total", "counter", ("reason",), "Conversations moved to waiting for a human."),
    Metric("helpline_feedback_total", "counter", ("rating",), "Feedback on assistant answers; rating=up|down."),
    Metric(
        "helpline_events_published_total",
        "counter",
        ("type",),
        "Lifecycle events published from the outbox to NATS JetStream (a duplicate the stream dropped counts too).",
    ),
    Metric(
        "helpline_webhook_deliveries_total",
        "counter",
        ("outcome",),
        "Webhook delivery attempts; outcome=delivered|retry|dead.",
    ),
    Metric(
        "helpline_guardrail_decisions_total",
        "counter",
        ("stage", "category", "action"),
        "Guardrail decisions; stage=input|output, category=injection|jailbreak|abuse|off_topic|prompt_leak|"
        "pii_not_given|toxic, action=refuse|steer|handoff|replace.",
    ),
    Metric(
        "helpline_pii_redactions_total",
        "counter",
        ("kind",),
        "PII values replaced by placeholders in customer messages before the model or the stores saw them.",
    ),
    Metric(
        "helpline_conversation_transitions_total",
        "counter",
        ("to_status",),
        "Conversation lifecycle transitions (bot, waiting_human, with_agent, resolved, closed).",
    ),
    Metric(
        "helpline_engine_requests_total",
        "counter",
        ("model", "outcome"),
        "Engine calls from the chat service; outcome=ok|retried|error|timeout|circuit_open|context_overflow.",
    ),
    Metric(
        "helpline_engine_circuit_open", "gauge", ("model",), "1 while the chat service's circuit to the engine is open."
    ),
    Metric(
        "helpline_chat_failovers_total",
        "counter",
        ("model", "reason", "result"),
        "Answers whose replica failed after the first token; reason=broken|stalled, "
        "result=continued (on another replica)|failed (none could continue)|exhausted (attempts or tokens used up).",
    ),
    Metric(
        "helpline_degradation_level",
        "gauge",
        ("model", "tier"),
        "The chat service's degradation ladder per chat model and key tier: 0 normal, 1 saturated, "
        "2 chat model down (a fallback model answers), 3 everything down (a message is taken for a person).",
    ),
    Metric(
        "helpline_degraded_answers_total",
        "counter",
        ("model", "level", "kind"),
        "Answers given on a degraded level; level=saturated|chat_model_down|everything_down, "
        "kind=curated|extractive|fallback|message_taken; model is the model that answered (none: no model).",
    ),
    Metric(
        "helpline_router_requests_total",
        "counter",
        ("model", "outcome"),
        "Requests the router forwarded, counted when the body ends; outcome=ok|retried|no_backend|error|cancelled.",
    ),
    Metric(
        "helpline_router_backends",
        "gauge",
        ("model", "state"),
        "Engine replicas known to the router; state=ready|ejected.",
    ),
    Metric(
        "helpline_router_affinity_total",
        "counter",
        ("model", "result"),
        "Session-affine picks; result=hit (same replica as the session's last turn) or moved.",
    ),
    Metric(
        "helpline_retrieval_duration_seconds",
        "histogram",
        ("method",),
        "Knowledge retrieval for one question (query embedding, keyword and vector search, fusion); method=hybrid|...",
    ),
    Metric(
        "helpline_knowledge_answers_total",
        "counter",
        ("outcome",),
        "Bot answers by grounding; outcome=grounded|curated|no_answer (said it could not answer, offered a person).",
    ),
)

#: Scraped from components the stack deploys but does not write (for the dashboards' metric check).
DCGM_METRICS = (
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_XID_ERRORS",
)


def all_series_names(catalog: tuple[Metric, ...]) -> frozenset[str]:
    return frozenset(series for metric in catalog for series in metric.series_names())
