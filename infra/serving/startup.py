"""How long a replica may take to start, derived from the size of its weights.

A vLLM replica is ready only after it has read its weights from the shared cache into GPU memory, profiled
memory, compiled the model and captured CUDA graphs. The startup probe must allow for all of it, or the
kubelet kills a healthy replica mid-load and it never comes up; but an over-generous budget hides a replica
that is truly stuck. So the budget is a pure function of the weights' size and of these assumptions:
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Sustained read throughput of one client from the ReadWriteMany cache (EFS elastic / Filestore basic read
#: far faster in bursts; 100 MB/s is what a single reader can count on when several replicas load at once).
CACHE_READ_GB_PER_SECOND = 0.1
#: Fixed engine start: process and CUDA context, memory profiling run, torch.compile with a cold compile cache,
#: and CUDA graph capture for every batch size; about 2 minutes for 1-8B models on an L4/A10G.
ENGINE_INIT_SECONDS = 120
#: Headroom for a noisy node (image layers still unpacking, other replicas loading at the same time).
SAFETY_FACTOR = 1.5
#: The simulator loads nothing; it only needs to import and bind its port.
SIMULATOR_STARTUP_SECONDS = 60
PROBE_PERIOD_SECONDS = 10

#: Download from the Hub or the bucket mirror, at the slowest rate we still consider healthy (20 MB/s), plus
#: ten minutes for listing, hashing and retries.
DOWNLOAD_GB_PER_SECOND = 0.02
DOWNLOAD_FIXED_SECONDS = 600


@dataclass(frozen=True)
class StartupBudget:
    seconds: int
    period_seconds: int

    @property
    def failure_threshold(self) -> int:
        """Probe failures the kubelet tolerates: the budget expressed in probe periods (rounded up)."""
        return math.ceil(self.seconds / self.period_seconds)


def startup_budget(weights_gb: float) -> StartupBudget:
    """Seconds a vLLM replica may take to become healthy: (init + weights / read throughput) x safety."""
    if weights_gb <= 0:
        raise ValueError("weights_gb must be positive")
    seconds = (ENGINE_INIT_SECONDS + weights_gb / CACHE_READ_GB_PER_SECOND) * SAFETY_FACTOR
    return StartupBudget(seconds=math.ceil(seconds), period_seconds=PROBE_PERIOD_SECONDS)


def simulator_startup_budget() -> StartupBudget:
    return StartupBudget(seconds=SIMULATOR_STARTUP_SECONDS, period_seconds=PROBE_PERIOD_SECONDS)


def download_deadline_seconds(weights_gb: float) -> int:
    """The model-loader Job's ``activeDeadlineSeconds``; the engine waits for the cache at most this long."""
    if weights_gb <= 0:
        raise ValueError("weights_gb must be positive")
    return math.ceil(DOWNLOAD_FIXED_SECONDS + weights_gb / DOWNLOAD_GB_PER_SECOND)
