"""LLM serving: latency quantiles, load, caches and preemptions per model, from vLLM's own metrics."""

from __future__ import annotations

from infra.platform.dashboards.builder import Dashboard, Panel, Query, Row, Variable, quantile_queries, rate, ratio

#: Every panel follows the model_name picker (vLLM's label; there is no ``model`` label on engine metrics).
MODEL = 'model_name=~"$model_name"'


def _latency(title: str, histogram: str, description: str) -> Panel:
    return Panel(title, description, quantile_queries(histogram, MODEL, by="model_name"), unit="s")


def dashboard() -> Dashboard:
    latency = Row(
        "Latency (p50 / p90 / p99)",
        [
            _latency("Time to first token", "vllm:time_to_first_token_seconds", "Prefill plus queueing, per model."),
            _latency(
                "Inter-token latency", "vllm:inter_token_latency_seconds", "Time between output tokens (decode speed)."
            ),
            _latency("End-to-end latency", "vllm:e2e_request_latency_seconds", "Whole request, first byte to last."),
            _latency("Queue time", "vllm:request_queue_time_seconds", "Time requests spent WAITING for a slot."),
        ],
    )
    load = Row(
        "Load",
        [
            Panel(
                "Running requests",
                "Requests in the engine's batches, per replica.",
                [Query(f"sum by (model_name, pod) (vllm:num_requests_running{{{MODEL}}})", "{{model_name}} {{pod}}")],
            ),
            Panel(
                "Waiting requests",
                "Requests queued for a batch slot; sustained queueing fires VLLMRequestsQueuedTooLong.",
                [Query(f"sum by (model_name) (vllm:num_requests_waiting{{{MODEL}}})", "{{model_name}}")],
            ),
            Panel(
                "Tokens per second",
                "Prompt (prefill) and generated (decode) tokens processed.",
                [
                    Query(rate("vllm:prompt_tokens_total", MODEL, "model_name"), "{{model_name}} prompt"),
                    Query(rate("vllm:generation_tokens_total", MODEL, "model_name"), "{{model_name}} generation"),
                ],
                unit="short",
            ),
            Panel(
                "Finished requests by reason",
                "stop: natural end; length: hit max_tokens; abort: the client went away.",
                [
                    Query(
                        rate("vllm:request_success_total", MODEL, "model_name, finished_reason"),
                        "{{model_name}} {{finished_reason}}",
                    )
                ],
                unit="reqps",
                stack=True,
            ),
        ],
    )
    caches = Row(
        "Caches and preemptions",
        [
            Panel(
                "KV-cache usage",
                "Per replica; above 95% new sequences wait and running ones are preempted.",
                [Query(f"max by (model_name, pod) (vllm:kv_cache_usage_perc{{{MODEL}}})", "{{model_name}} {{pod}}")],
                unit="percentunit",
                min=0,
                max=1,
                thresholds=[(0.95, "red")],
            ),
            Panel(
                "Prefix-cache hit rate",
                "Share of prompt tokens served from the prefix cache; session affinity in the router keeps it high.",
                [
                    Query(
                        ratio(
                            rate("vllm:prefix_cache_hits_total", MODEL, "model_name"),
                            rate("vllm:prefix_cache_queries_total", MODEL, "model_name"),
                        ),
                        "{{model_name}}",
                    )
                ],
                unit="percentunit",
                min=0,
                max=1,
            ),
            Panel(
                "Preemptions",
                "Sequences evicted from the KV cache to make room (recomputed later): a sign of cache pressure.",
                [Query(rate("vllm:num_preemptions_total", MODEL, "model_name"), "{{model_name}}")],
                unit="ops",
            ),
            Panel(
                "KV offloading to host memory",
                "Blocks moved between the GPU cache and the host buffer of a model with kvOffloadGib set (empty "
                "otherwise); loads are prefixes served from host memory instead of recomputed.",
                [
                    Query(rate("vllm:kv_offload_store_bytes_total", MODEL, "model_name"), "{{model_name}} stored"),
                    Query(rate("vllm:kv_offload_load_bytes_total", MODEL, "model_name"), "{{model_name}} loaded"),
                ],
                unit="Bps",
            ),
        ],
    )
    return Dashboard(
        uid="helpline-llm-serving",
        title="Helpline / LLM serving",
        description="vLLM per model: latency quantiles, load, KV and prefix caches, preemptions.",
        rows=[latency, load, caches],
        variables=[Variable("model_name", "Model", "vllm:num_requests_running")],
    )
