"""Typed, validated inputs of the serving component: what to serve, how to scale it, how to route to it.

``stacks.config.serving`` builds these from flat Pulumi keys; the component and its pure builders read only
these, so they are tested without config files or the Pulumi runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EngineKind = Literal["vllm", "simulator"]
ModelRole = Literal["chat", "classifier"]
MODEL_ROLES: tuple[ModelRole, ...] = ("chat", "classifier")
#: How a model is deployed (infra/serving/patterns.py says what each renders and costs).
DeploymentPattern = Literal["single", "horizontal", "serverless"]
DEPLOYMENT_PATTERNS: tuple[DeploymentPattern, ...] = ("single", "horizontal", "serverless")

#: Port vLLM (and the simulator) listen on, as ``vllm serve`` does by default.
ENGINE_PORT = 8000
#: Port every Helpline process (router included) listens on.
APP_PORT = 8080


@dataclass(frozen=True)
class ModelSpec:
    """One served model: the checkpoint, the engine's limits, its resources and its replica range."""

    role: ModelRole
    model_id: str
    #: full 40-hex commit sha of the Hugging Face repository, never a branch
    revision: str
    served_model_name: str
    #: ``None`` lets vLLM read the method from the checkpoint's config
    quantization: str | None
    dtype: str
    max_model_len: int
    max_num_seqs: int
    max_num_batched_tokens: int
    gpu_memory_utilization: float
    tensor_parallel_size: int
    gpus_per_replica: int
    min_replicas: int
    max_replicas: int
    #: approximate size of the weights on disk (GB); drives the startup budget and the cache size check
    weights_gb: float
    cpu: str
    memory: str
    extra_args: tuple[str, ...] = ()
    #: host memory (GiB) for vLLM's native KV-cache offloading; 0 keeps the KV cache on the GPU only
    kv_offload_gib: float = 0.0
    #: single: one replica, no autoscaler; horizontal: KEDA between the replica bounds; serverless: KEDA from zero
    pattern: DeploymentPattern = "horizontal"

    @property
    def autoscaled(self) -> bool:
        """Whether KEDA owns the replica count (every pattern but ``single``)."""
        return self.pattern != "single"

    @property
    def scales_to_zero(self) -> bool:
        return self.pattern == "serverless"

    @property
    def peak_sequences(self) -> int:
        """The most sequences this model's engines batch at once: every replica the autoscaler may run, full."""
        return self.max_replicas * self.max_num_seqs

    @property
    def pipeline_parallel_size(self) -> int:
        """GPUs of a replica not used for tensor parallelism form pipeline stages (config checks divisibility)."""
        return self.gpus_per_replica // self.tensor_parallel_size

    @property
    def slug(self) -> str:
        """The served name as a DNS label (Service names may not contain dots)."""
        return self.served_model_name.replace(".", "-")


@dataclass(frozen=True)
class AutoscalingSpec:
    """KEDA thresholds, shared by every model (each model's replica range is in its ``ModelSpec``)."""

    #: waiting requests per replica that justify another replica
    queue_depth_target: int
    #: average KV-cache usage (0-1) per replica above which another replica is added
    kv_cache_target: float
    polling_seconds: int
    #: seconds a replica count must stay lower before KEDA's HPA scales down
    scale_down_stabilization_seconds: int
    #: idle seconds before a model with ``min_replicas == 0`` goes to zero
    idle_seconds_before_zero: int


@dataclass(frozen=True)
class RouterSpec:
    min_replicas: int
    max_replicas: int
    cpu_target_percent: int


@dataclass(frozen=True)
class ServingSpec:
    """Everything the serving component needs from the stack's config."""

    engine: EngineKind
    vllm_image: str
    app_image: str
    models: tuple[ModelSpec, ...]
    autoscaling: AutoscalingSpec
    router: RouterSpec
    model_cache_size_gi: int
    #: longest time an in-flight stream may need to finish when its replica is stopped
    drain_seconds: int
    #: spread replicas across zones (prod); dev clusters are zonal
    spread_across_zones: bool
    #: the GPU pool holds one surge replica per model beyond every model's maximum, so engines may roll new-before-old
    #: (maxSurge 1); without that room a surge pod would wait for a GPU until the rollout's deadline
    surge_fits: bool = True

    @property
    def uses_gpus(self) -> bool:
        return self.engine == "vllm"
