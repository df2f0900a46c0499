"""From a model, a GPU and the engine's limits: the KV cache a replica holds; from a traffic profile: the replicas.

The memory model is vLLM's own start-up arithmetic: the engine may use ``gpu-memory-utilization`` of the GPU;
weights, the peak activations of one full scheduler step (``max-num-batched-tokens``) and a runtime overhead
(non-torch allocations and CUDA graphs) come off first; the rest becomes KV-cache blocks of 16 tokens.
The time model is the usual roofline: a decode step reads every weight and the running sequences' KV cache
once (memory bound), a prefill is compute bound. docs/capacity.md shows both against published figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.capacity.architectures import ModelArchitecture
from infra.capacity.gpus import GIB, GpuProfile

BLOCK_TOKENS = 16
#: non-torch memory (CUDA context, NCCL) plus CUDA-graph memory, which vLLM profiles since v0.21
DEFAULT_RUNTIME_OVERHEAD_GIB = 1.0
#: share of peak bandwidth / compute real kernels reach
BANDWIDTH_EFFICIENCY = 0.7
PREFILL_EFFICIENCY = 0.5


@dataclass(frozen=True)
class EngineLimits:
    gpu_memory_utilization: float
    max_model_len: int
    max_num_seqs: int
    max_num_batched_tokens: int
    gpus_per_replica: int = 1
    runtime_overhead_gib: float = DEFAULT_RUNTIME_OVERHEAD_GIB
    #: host memory given to vLLM's KV offloading (GiB), 0 when off
    kv_offload_gib: float = 0.0


@dataclass(frozen=True)
class MemoryPlan:
    """Per replica; memory in GiB per GPU, tokens for the whole replica."""

    budget_gib: float
    weights_gib: float
    activations_gib: float
    overhead_gib: float
    kv_cache_gib: float
    kv_bytes_per_token: int
    kv_tokens: int
    offload_tokens: int

    @property
    def fits(self) -> bool:
        return self.kv_tokens > 0

    def max_sequences(self, context_tokens: int) -> int:
        """Sequences of ``context_tokens`` each that the GPU KV cache holds at once."""
        return self.kv_tokens // max(context_tokens, 1)


def plan_memory(model: ModelArchitecture, gpu: GpuProfile, limits: EngineLimits) -> MemoryPlan:
    gpus = limits.gpus_per_replica
    budget = gpu.memory_gib * limits.gpu_memory_utilization
    weights = model.weight_bytes / gpus / GIB
    activations = limits.max_num_batched_tokens * model.activation_bytes_per_batched_token / gpus / GIB
    kv_gib = budget - weights - activations - limits.runtime_overhead_gib
    per_token = model.kv_bytes_per_token
    tokens = max(0, math.floor(kv_gib * GIB * gpus / per_token / BLOCK_TOKENS) * BLOCK_TOKENS)
    offload = math.floor(limits.kv_offload_gib * GIB / per_token / BLOCK_TOKENS) * BLOCK_TOKENS
    return MemoryPlan(
        budget_gib=budget,
        weights_gib=weights,
        activations_gib=activations,
        overhead_gib=limits.runtime_overhead_gib,
        kv_cache_gib=max(kv_gib, 0.0),
        kv_bytes_per_token=per_token,
        kv_tokens=tokens,
        offload_tokens=offload,
    )


@dataclass(frozen=True)
class TrafficProfile:
    """Customer turns the model serves: arrival rate, the context each turn carries and the answer it writes."""

    turns_per_second: float
    #: prompt tokens of a turn (system prompt, history, retrieved passages, the message)
    prompt_tokens: int
    answer_tokens: int
    target_ttft_seconds: float = 1.0
    #: share of a replica's capacity the plan may use; the rest absorbs bursts and keeps the queue short
    utilization: float = 0.7


@dataclass(frozen=True)
class ReplicaPlan:
    memory: MemoryPlan
    #: sequences a replica runs at once: the engine's cap or what the KV cache holds
    batch: int
    decode_tokens_per_second_per_sequence: float
    prefill_seconds: float
    turns_per_second_per_replica: float
    replicas: int
    gpus: int
    target_ttft_seconds: float

    @property
    def meets_ttft(self) -> bool:
        """An idle replica's prefill alone already misses the target: more replicas cannot fix that."""
        return self.prefill_seconds <= self.target_ttft_seconds

    def summary(self) -> dict[str, float | int]:
        return {
            "kv_tokens": self.memory.kv_tokens,
            "batch": self.batch,
            "decode_tokens_per_second_per_sequence": round(self.decode_tokens_per_second_per_sequence, 1),
            "prefill_seconds": round(self.prefill_seconds, 3),
            "turns_per_second_per_replica": round(self.turns_per_second_per_replica, 2),
            "replicas": self.replicas,
            "gpus": self.gpus,
        }


def decode_step_seconds(model: ModelArchitecture, gpu: GpuProfile, batch: int, context_tokens: int, gpus: int) -> float:
    """One decode step: all weights plus every running sequence's KV cache read once, across the replica's GPUs."""
    bytes_read = model.weight_bytes + batch * context_tokens * model.kv_bytes_per_token
    return bytes_read / (gpus * gpu.bandwidth_gbps * 1e9 * BANDWIDTH_EFFICIENCY)


def prefill_seconds(model: ModelArchitecture, gpu: GpuProfile, prompt_tokens: int, gpus: int) -> float:
    """2 FLOPs per parameter per prompt token, at a realistic share of the GPUs' tensor throughput."""
    return 2 * model.parameters * prompt_tokens / (gpus * gpu.fp16_tflops * 1e12 * PREFILL_EFFICIENCY)


def plan_replicas(
    model: ModelArchitecture, gpu: GpuProfile, limits: EngineLimits, traffic: TrafficProfile
) -> ReplicaPlan:
    memory = plan_memory(model, gpu, limits)
    context = min(traffic.prompt_tokens + traffic.answer_tokens, limits.max_model_len)
    batch = max(1, min(limits.max_num_seqs, memory.max_sequences(context)))
    step = decode_step_seconds(model, gpu, batch, context, limits.gpus_per_replica)
    prefill = prefill_seconds(model, gpu, traffic.prompt_tokens, limits.gpus_per_replica)
    turn_seconds = prefill + traffic.answer_tokens * step
    per_replica = batch / turn_seconds if memory.fits else 0.0
    usable = per_replica * traffic.utilization
    replicas = max(1, math.ceil(traffic.turns_per_second / usable)) if usable > 0 else 0
    return ReplicaPlan(
        memory=memory,
        batch=batch if memory.fits else 0,
        decode_tokens_per_second_per_sequence=1 / step,
        prefill_seconds=prefill,
        turns_per_second_per_replica=per_replica,
        replicas=replicas,
        gpus=replicas * limits.gpus_per_replica,
        target_ttft_seconds=traffic.target_ttft_seconds,
    )
