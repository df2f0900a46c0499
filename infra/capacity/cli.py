"""``make capacity``: size one model on one GPU for a traffic profile, and price it.

make capacity MODEL=Qwen/Qwen2.5-7B-Instruct-AWQ GPU=nvidia-l4 CAPACITY_ARGS="--turns-per-second 5"
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.capacity.architectures import KNOWN_MODELS, ModelArchitecture, from_config_json
from infra.capacity.gpus import GPUS, PRICES_AS_OF, gpu_profile
from infra.capacity.planner import DEFAULT_RUNTIME_OVERHEAD_GIB, EngineLimits, TrafficProfile, plan_replicas


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="make capacity", description="Size one model on one GPU for a traffic profile, and price it."
    )
    parser.add_argument(
        "--model", required=True, help=f"a known model ({', '.join(KNOWN_MODELS)}) or, with --config-json, any name"
    )
    parser.add_argument("--gpu", required=True, choices=sorted(GPUS))
    parser.add_argument("--config-json", type=Path, help="the model's config.json, for a model not in the table")
    parser.add_argument("--parameters", type=float, help="total parameters (with --config-json), e.g. 7.6e9")
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.9)
    parser.add_argument("--max-model-len", type=int, default=8192)
    parser.add_argument("--max-num-seqs", type=int, default=64)
    parser.add_argument("--max-num-batched-tokens", type=int, default=8192)
    parser.add_argument("--gpus-per-replica", type=int, default=1)
    parser.add_argument("--runtime-overhead-gib", type=float, default=DEFAULT_RUNTIME_OVERHEAD_GIB)
    parser.add_argument("--kv-offload-gib", type=float, default=0.0, help="host memory for KV offloading")
    parser.add_argument("--turns-per-second", type=float, default=2.0)
    parser.add_argument("--prompt-tokens", type=int, default=1500)
    parser.add_argument("--answer-tokens", type=int, default=200)
    parser.add_argument("--target-ttft", type=float, default=1.0, help="seconds")
    parser.add_argument("--utilization", type=float, default=0.7, help="share of a replica the plan may use")
    return parser


def _model(args: argparse.Namespace) -> ModelArchitecture:
    if args.config_json:
        if not args.parameters:
            raise SystemExit("--config-json needs --parameters (config.json does not state the parameter count)")
        return from_config_json(args.config_json, parameters=args.parameters)
    if args.model not in KNOWN_MODELS:
        raise SystemExit(
            f"unknown model {args.model!r}: pass --config-json and --parameters, or one of {', '.join(KNOWN_MODELS)}"
        )
    return KNOWN_MODELS[args.model]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    model, gpu = _model(args), gpu_profile(args.gpu)
    limits = EngineLimits(
        gpu_memory_utilization=args.gpu_memory_utilization,
        max_model_len=args.max_model_len,
        max_num_seqs=args.max_num_seqs,
        max_num_batched_tokens=args.max_num_batched_tokens,
        gpus_per_replica=args.gpus_per_replica,
        runtime_overhead_gib=args.runtime_overhead_gib,
        kv_offload_gib=args.kv_offload_gib,
    )
    traffic = TrafficProfile(
        args.turns_per_second, args.prompt_tokens, args.answer_tokens, args.target_ttft, args.utilization
    )
    plan = plan_replicas(model, gpu, limits, traffic)
    memory = plan.memory
    context = min(args.prompt_tokens + args.answer_tokens, args.max_model_len)
    out = sys.stdout
    out.write(f"{model.name} on {gpu.name} ({gpu.memory_gib} GiB) x{limits.gpus_per_replica} per replica\n")
    out.write(
        f"  memory per GPU (GiB): budget {memory.budget_gib:.2f} = weights {memory.weights_gib:.2f}"
        f" + activations {memory.activations_gib:.2f} + overhead {memory.overhead_gib:.2f}"
        f" + KV cache {memory.kv_cache_gib:.2f}\n"
    )
    out.write(
        f"  KV cache: {memory.kv_bytes_per_token // 1024} KiB per token, {memory.kv_tokens:,} tokens"
        f" per replica (+{memory.offload_tokens:,} offloaded to host memory)\n"
    )
    if not memory.fits:
        out.write("  DOES NOT FIT: the weights and activations leave no KV cache\n")
        return 1
    out.write(
        f"  max sequences: {memory.max_sequences(args.max_model_len):,} at max-model-len"
        f" {args.max_model_len}, {memory.max_sequences(context):,} at {context} tokens per turn"
        f" (engine cap max-num-seqs {args.max_num_seqs})\n"
    )
    out.write(
        f"  per replica: batch {plan.batch}, {plan.decode_tokens_per_second_per_sequence:.0f} tokens/s per"
        f" sequence, prefill {plan.prefill_seconds * 1000:.0f} ms, {plan.turns_per_second_per_replica:.1f}"
        " turns/s at full batch\n"
    )
    out.write(
        f"  for {args.turns_per_second} turns/s at {args.utilization:.0%} utilization: {plan.replicas}"
        f" replica(s), {plan.gpus} GPU(s); TTFT target {args.target_ttft}s"
        f" {'met' if plan.meets_ttft else 'MISSED by prefill alone'}\n"
    )
    generated_per_hour = args.turns_per_second * args.answer_tokens * 3600
    for cloud in ("aws", "gcp"):
        for capacity in ("on-demand", "spot"):
            price = gpu.hourly_price(cloud, capacity)
            if price is None:
                continue
            spend = price * plan.gpus
            out.write(
                f"  {cloud} {capacity}: ${spend:.2f}/h, ${spend * 1e6 / generated_per_hour:.2f} per 1M"
                f" generated tokens (${price}/GPU-hour, list price as of {PRICES_AS_OF})\n"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
