"""The GPUs a stack can run on: memory as the driver reports it, bandwidth and compute for the time estimates,
and an hourly price per cloud and capacity type.

Prices are approximate public on-demand list prices per GPU (us-east-1 / us-central1), as known on
``PRICES_AS_OF``; they were not read from a price API here. Spot is taken as ``SPOT_DISCOUNT`` of on-demand.
Set ``gpuHourPrice`` per stack for what your account pays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Cloud = Literal["aws", "gcp"]
Capacity = Literal["spot", "on-demand"]
GIB = 1024**3

PRICES_AS_OF = "2026-12-07"
#: Share of the on-demand price a spot GPU costs (both clouds' spot prices float; 35% is a typical level).
SPOT_DISCOUNT = 0.35


@dataclass(frozen=True)
class GpuProfile:
    name: str
    #: total memory as torch/vLLM report it (GiB), not the marketing figure
    memory_gib: float
    #: memory bandwidth (GB/s): decoding reads all weights and the running sequences' KV cache each step
    bandwidth_gbps: float
    #: dense fp16/bf16 tensor throughput (TFLOPS): prefill is compute bound
    fp16_tflops: float
    #: on-demand price of one GPU-hour (USD) per cloud; absent where the cloud does not offer the GPU
    on_demand_hourly: dict[Cloud, float]

    def hourly_price(self, cloud: Cloud, capacity: Capacity) -> float | None:
        price = self.on_demand_hourly.get(cloud)
        if price is None:
            return None
        return round(price * (SPOT_DISCOUNT if capacity == "spot" else 1.0), 4)


GPUS: dict[str, GpuProfile] = {
    gpu.name: gpu
    for gpu in (
        # g6.xlarge (1 x L4) / g2-standard-4
        GpuProfile("nvidia-l4", 22.49, 300, 121, {"aws": 0.80, "gcp": 0.71}),
        # g5.xlarge (1 x A10G); GCP has no A10G
        GpuProfile("nvidia-a10g", 22.49, 600, 125, {"aws": 1.01}),
        # g6e.xlarge (1 x L40S); GCP has no L40S
        GpuProfile("nvidia-l40s", 44.99, 864, 362, {"aws": 1.86}),
        # p4de.24xlarge / 8 and a2-ultragpu-1g
        GpuProfile("nvidia-a100-80gb", 79.15, 2039, 312, {"aws": 5.12, "gcp": 5.07}),
        # p5.48xlarge / 8 and a3-highgpu-8g / 8
        GpuProfile("nvidia-h100-80gb", 79.19, 3350, 989, {"aws": 6.88, "gcp": 11.03}),
    )
}


def gpu_profile(name: str) -> GpuProfile:
    try:
        return GPUS[name]
    except KeyError:
        raise ValueError(f"unknown GPU {name!r}; known: {', '.join(GPUS)}") from None
