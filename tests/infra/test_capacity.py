"""The capacity planner against published vLLM start-up figures, the CLI, and the config validation that uses it.

Reference points (each a vLLM log quoted in a public thread; block size 16 tokens):

- vllm-project/vllm#10517: meta-llama/Llama-3.1-8B-Instruct (bf16) on an RTX 3090 (total_gpu_memory 23.58 GiB),
  gpu_memory_utilization 0.90, non_torch_memory 0.35 GiB, max-num-batched-tokens = max-model-len (vLLM 0.6):
  20000 -> "# GPU blocks: 1952" (31,232 tokens, "Maximum concurrency for 20000 tokens per request: 1.56x");
  29000 -> "# GPU blocks: 1478" (23,648 tokens).
- vllm-project/vllm#2031: Llama-2-7B, TP=1, one A100-80GB, utilization 0.90 (default), max-num-batched-tokens
  4096 (vLLM 0.2 default for a 4096-token model): "# GPU blocks: 7351" (117,616 tokens).
"""

from __future__ import annotations

import pytest

from infra.capacity.architectures import KNOWN_MODELS
from infra.capacity.cli import main as capacity_main
from infra.capacity.gpus import GPUS, GpuProfile, gpu_profile
from infra.capacity.planner import EngineLimits, TrafficProfile, plan_memory, plan_replicas
from stacks.config.stack import parse_stack_config
from tests.infra.stack_values import AWS_DEV, issues_of

RTX_3090 = GpuProfile("rtx-3090", 23.58, 936, 71, {})
TOLERANCE = 0.10


def within(measured: float, published: float) -> bool:
    return abs(measured - published) / published <= TOLERANCE


@pytest.mark.parametrize(("max_model_len", "published_tokens"), [(20000, 31232), (29000, 23648)])
def test_llama31_8b_on_rtx3090_matches_vllm_10517(max_model_len: int, published_tokens: int) -> None:
    limits = EngineLimits(0.90, max_model_len, 256, max_model_len, runtime_overhead_gib=0.35)
    plan = plan_memory(KNOWN_MODELS["meta-llama/Llama-3.1-8B-Instruct"], RTX_3090, limits)
    assert within(plan.kv_tokens, published_tokens), (plan.kv_tokens, published_tokens)
    assert round(plan.weights_gib, 1) == 15.0  # the log: "Loading model weights took 14.9888 GB"


def test_llama31_8b_concurrency_matches_the_logged_maximum_concurrency() -> None:
    limits = EngineLimits(0.90, 20000, 256, 20000, runtime_overhead_gib=0.35)
    plan = plan_memory(KNOWN_MODELS["meta-llama/Llama-3.1-8B-Instruct"], RTX_3090, limits)
    assert within(plan.kv_tokens / 20000, 1.56)


def test_llama2_7b_on_a100_80gb_matches_vllm_2031() -> None:
    limits = EngineLimits(0.90, 4096, 256, 4096, runtime_overhead_gib=0.5)
    plan = plan_memory(KNOWN_MODELS["meta-llama/Llama-2-7b-hf"], gpu_profile("nvidia-a100-80gb"), limits)
    assert within(plan.kv_tokens, 7351 * 16), plan.kv_tokens
    assert plan.kv_bytes_per_token == 512 * 1024  # 2 x 32 layers x 32 heads x 128 x 2 bytes


def test_kv_bytes_per_token_of_the_default_models() -> None:
    assert KNOWN_MODELS["Qwen/Qwen2.5-7B-Instruct-AWQ"].kv_bytes_per_token == 56 * 1024
    assert KNOWN_MODELS["Qwen/Qwen2.5-1.5B-Instruct"].kv_bytes_per_token == 28 * 1024


def test_awq_weights_match_the_checkpoint_size() -> None:
    """The AWQ repository's safetensors total ~5.6 GB (the default chatWeightsGb): embeddings stay 16-bit."""
    assert within(KNOWN_MODELS["Qwen/Qwen2.5-7B-Instruct-AWQ"].weight_bytes / 1e9, 5.6)


def test_more_traffic_needs_more_replicas_and_a_faster_gpu_fewer() -> None:
    model = KNOWN_MODELS["Qwen/Qwen2.5-7B-Instruct-AWQ"]
    limits = EngineLimits(0.9, 8192, 64, 8192)
    low = plan_replicas(model, gpu_profile("nvidia-l4"), limits, TrafficProfile(1, 1500, 200))
    high = plan_replicas(model, gpu_profile("nvidia-l4"), limits, TrafficProfile(20, 1500, 200))
    fast = plan_replicas(model, gpu_profile("nvidia-h100-80gb"), limits, TrafficProfile(20, 1500, 200))
    assert low.replicas == 1 < high.replicas
    assert fast.replicas < high.replicas
    assert high.gpus == high.replicas


def test_a_model_that_does_not_fit_has_no_kv_cache() -> None:
    limits = EngineLimits(0.9, 8192, 64, 8192)
    plan = plan_replicas(
        KNOWN_MODELS["meta-llama/Llama-3.1-8B-Instruct"],
        gpu_profile("nvidia-l4"),
        EngineLimits(0.5, 8192, 64, 8192),
        TrafficProfile(1, 1500, 200),
    )
    assert not plan.memory.fits
    assert plan.replicas == 0
    assert plan_memory(KNOWN_MODELS["meta-llama/Llama-3.1-8B-Instruct"], gpu_profile("nvidia-l4"), limits).fits


def test_offloading_adds_host_tokens_without_touching_the_gpu_cache() -> None:
    model, gpu = KNOWN_MODELS["Qwen/Qwen2.5-7B-Instruct-AWQ"], gpu_profile("nvidia-l4")
    plain = plan_memory(model, gpu, EngineLimits(0.9, 8192, 64, 8192))
    offloaded = plan_memory(model, gpu, EngineLimits(0.9, 8192, 64, 8192, kv_offload_gib=8))
    assert offloaded.kv_tokens == plain.kv_tokens
    assert offloaded.offload_tokens == 8 * 1024**3 // (56 * 1024) // 16 * 16


def test_every_gpu_the_config_offers_has_a_profile_and_a_price() -> None:
    from typing import get_args

    from stacks.config.cluster import GpuType

    assert set(get_args(GpuType)) == set(GPUS)
    for gpu in GPUS.values():
        assert gpu.hourly_price("aws", "on-demand") or gpu.hourly_price("gcp", "on-demand")
        price = gpu.hourly_price("aws", "on-demand")
        spot = gpu.hourly_price("aws", "spot")
        assert price is None or (spot is not None and spot < price)


def test_make_capacity_prints_the_kv_cache_sequences_replicas_and_price(capsys: pytest.CaptureFixture[str]) -> None:
    code = capacity_main(["--model", "Qwen/Qwen2.5-7B-Instruct-AWQ", "--gpu", "nvidia-l4", "--turns-per-second", "5"])
    out = capsys.readouterr().out
    assert code == 0
    assert "244,928 tokens per replica" in out
    assert "max sequences: 29 at max-model-len 8192" in out
    assert "2 replica(s), 2 GPU(s)" in out
    assert "aws on-demand: $1.60/h" in out


def test_make_capacity_says_when_it_does_not_fit(capsys: pytest.CaptureFixture[str]) -> None:
    code = capacity_main(
        ["--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "nvidia-l4", "--gpu-memory-utilization", "0.5"]
    )
    assert code == 1
    assert "DOES NOT FIT" in capsys.readouterr().out


def test_config_refuses_a_model_that_cannot_hold_one_max_length_sequence() -> None:
    values = {
        **AWS_DEV,
        "chatModelId": "meta-llama/Llama-3.1-8B-Instruct",
        "chatQuantization": "none",
        "chatWeightsGb": "16",
        "chatGpuMemoryUtilization": "0.9",
        "chatMaxModelLen": "131072",
    }
    found = issues_of(values)
    assert any(
        line.startswith("helpline:chatMaxModelLen = 131072: one sequence of this length does not fit")
        and "weights 15.0" in line
        for line in found
    ), found


def test_config_refuses_a_max_num_seqs_the_kv_cache_cannot_hold_and_names_the_numbers() -> None:
    found = issues_of({**AWS_DEV, "chatMaxNumSeqs": "512", "chatMaxNumBatchedTokens": "8192"})
    assert found == [
        "helpline:chatMaxNumSeqs = 512: the KV cache holds 119 sequences of 2048 tokens (capacityContextTokens) "
        "on nvidia-l4 x1 at gpuMemoryUtilization 0.9: 20.2 GiB per GPU = weights 5.3 + activations 0.9 + "
        "overhead 1.0 + KV cache 13.1 (244,928 tokens); beyond that vLLM preempts running sequences. "
        "Lower it or give the model more KV cache"
    ]


def test_the_default_stacks_pass_the_planner() -> None:
    config = parse_stack_config("dev", AWS_DEV)
    assert config.serving.capacity_context_tokens == 2048


def test_kv_offloading_adds_the_native_flags_and_the_buffer_to_the_replica_memory() -> None:
    from infra.serving.engine import replica_memory
    from infra.serving.engine_args import engine_args

    config = parse_stack_config("dev", {**AWS_DEV, "chatKvOffloadGib": "8"})
    chat, classifier = config.serving.model("chat"), config.serving.model("classifier")
    args = engine_args(chat)
    assert args[args.index("--kv-offloading-size") + 1] == "8"
    assert args[args.index("--kv-offloading-backend") + 1] == "native"
    assert replica_memory(chat) == "20480Mi"  # 12Gi + 8 GiB
    assert "--kv-offloading-size" not in engine_args(classifier)
    assert replica_memory(classifier) == classifier.memory


def test_kv_offloading_flags_are_managed_and_memory_must_be_binary_units() -> None:
    found = issues_of({**AWS_DEV, "chatExtraEngineArgs": '["--kv-offloading-size=4"]'})
    assert any("--kv-offloading-size is set by the serving component" in line for line in found), found
    assert issues_of({**AWS_DEV, "chatKvOffloadGib": "4", "chatMemory": "12582912Ki"}) == [
        "helpline:chatMemory = '12582912Ki': must be in Mi, Gi or Ti when chatKvOffloadGib is set (the buffer is added)"
    ]
