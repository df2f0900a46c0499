"""The one ``vllm serve`` argument list per model; the simulator takes the very same list."""

from __future__ import annotations

from infra.serving.spec import ENGINE_PORT, ModelSpec

#: Never emitted, whatever the config says: it would run code from the model repository inside the engine.
TRUST_REMOTE_CODE = "--trust-remote-code"


def engine_args(model: ModelSpec) -> list[str]:
    """Arguments after ``vllm serve``: the pinned checkpoint, the limits, prefix caching and chunked prefill on.

    The API key is not here: vLLM (and the simulator) read it from ``VLLM_API_KEY``, which comes from a
    Secret, so it never appears in a pod spec.
    """
    args = [
        model.model_id,
        "--revision",
        model.revision,
        "--served-model-name",
        model.served_model_name,
        "--host",
        "0.0.0.0",  # noqa: S104  (the pod's own interfaces; the NetworkPolicy decides who may connect)
        "--port",
        str(ENGINE_PORT),
        "--max-model-len",
        str(model.max_model_len),
        "--max-num-seqs",
        str(model.max_num_seqs),
        "--max-num-batched-tokens",
        str(model.max_num_batched_tokens),
        "--gpu-memory-utilization",
        f"{model.gpu_memory_utilization:g}",
        "--tensor-parallel-size",
        str(model.tensor_parallel_size),
        "--dtype",
        model.dtype,
        # Session-affine routing only pays off if the replica keeps the conversation's prefix cached.
        "--enable-prefix-caching",
        # Long prompts are prefilled in chunks between decode steps, so running streams keep a steady pace.
        "--enable-chunked-prefill",
        # Per-request access lines at INFO would drown the engine's own logs; metrics count requests instead.
        "--uvicorn-log-level",
        "warning",
    ]
    if model.pipeline_parallel_size > 1:
        args += ["--pipeline-parallel-size", str(model.pipeline_parallel_size)]
    if model.quantization is not None:
        args += ["--quantization", model.quantization]
    if model.kv_offload_gib > 0:
        # vLLM's native CPU offloading: evicted prefix blocks wait in host memory instead of being recomputed.
        args += ["--kv-offloading-size", f"{model.kv_offload_gib:g}", "--kv-offloading-backend", "native"]
    args += model.extra_args
    if any(arg.split("=", 1)[0] == TRUST_REMOTE_CODE for arg in args):
        raise ValueError(f"{model.role}: {TRUST_REMOTE_CODE} is never allowed (the config refuses it too)")
    return args
