"""vLLM model services, autoscaling thresholds and session-affine routing (infra/serving).

Pulumi config only types strings, integers, booleans and arrays, so each served model is a set of flat keys
with its role as prefix (``chatModelId``, ``classifierModelId``, ...). The per-role keys are declared once in
``_role_keys`` and stamped out per role, and ``ServingConfig.model(role)`` turns them back into one typed
``ModelSpec``: one declaration, no copy-paste between the chat and the classifier model.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import create_model, field_validator
from pydantic.fields import FieldInfo

from eval.classifier import records as eval_records
from eval.gate import DEFAULT_MAX_MACRO_F1_DROP, DEFAULT_MAX_RECALL_DROP, GateMargins
from infra.capacity.architectures import known_model
from infra.capacity.gpus import gpu_profile
from infra.capacity.planner import EngineLimits, plan_memory
from infra.k8s.quantities import MEMORY_UNITS_MI, QUANTITY, memory_mi
from infra.serving.spec import (
    MODEL_ROLES,
    AutoscalingSpec,
    DeploymentPattern,
    EngineKind,
    ModelRole,
    ModelSpec,
    RouterSpec,
    ServingSpec,
)
from stacks.config.base import ConfigIssue, ConfigSection, key
from stacks.config.cluster import ClusterConfig, GpuType
from stacks.config.services import DIGEST_PINNED

#: vLLM quantization methods we allow; ``none`` passes no flag so vLLM reads the checkpoint's own config.
QUANTIZATIONS = ("none", "awq", "awq_marlin", "gptq", "gptq_marlin", "fp8", "compressed-tensors")
DTYPES = ("auto", "float16", "bfloat16", "half")
TENSOR_PARALLEL_SIZES = (1, 2, 4, 8)
#: Memory of each GPU we offer (GB), to refuse a model whose weights leave no room for the KV cache.
GPU_MEMORY_GB: dict[GpuType, int] = {
    "nvidia-l4": 24,
    "nvidia-a10g": 24,
    "nvidia-l40s": 48,
    "nvidia-a100-80gb": 80,
    "nvidia-h100-80gb": 80,
}
#: Weights may take at most this share of the engine's GPU memory budget; the rest is KV cache.
MAX_WEIGHTS_SHARE = 0.8
PROD_MIN_GPU_MEMORY_UTILIZATION = 0.85
#: Why prod runs every model horizontally.
PROD_PATTERN_PROBLEMS = {
    "single": "prod allows only horizontal: one replica serves nobody through a node or zone loss or an upgrade",
    "serverless": "prod allows only horizontal: it never scales to zero (the first request after idle would wait "
    "minutes for a cold start); minReplicas 2 keeps a replica through a node or zone loss",
}

HF_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")
#: Served names become part of Kubernetes names (``vllm-<name>``), so they are short DNS-safe strings.
SERVED_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,36}[a-z0-9])?$")
#: Engine flags the component sets itself or that break the security model; extra args may not repeat them.
FORBIDDEN_ENGINE_FLAGS = ("--trust-remote-code",)
MANAGED_ENGINE_FLAGS = (
    "--api-key",
    "--host",
    "--port",
    "--model",
    "--revision",
    "--served-model-name",
    "--download-dir",
    "--max-model-len",
    "--max-num-seqs",
    "--max-num-batched-tokens",
    "--gpu-memory-utilization",
    "--tensor-parallel-size",
    "--pipeline-parallel-size",
    "--quantization",
    "--dtype",
    "--kv-offloading-size",
    "--kv-offloading-backend",
)


def _role_keys(role: ModelRole, defaults: dict[str, Any]) -> dict[str, Any]:
    """The keys of one served model, prefixed by its role; ``defaults`` gives the project default of each."""
    title = "chat model" if role == "chat" else "classifier model (intent and emotion)"

    def field(name: str, annotation: Any, description: str, **constraints: Any) -> tuple[str, tuple[Any, FieldInfo]]:
        alias = role + name[0].upper() + name[1:]
        attribute = re.sub(r"(?<!^)(?=[A-Z])", "_", alias).lower()
        return attribute, (annotation, key(alias, f"{title}: {description}", defaults[name], **constraints))

    return dict(
        [
            field(
                "deploymentPattern",
                DeploymentPattern,
                "single (one replica, no autoscaler: dev), horizontal (KEDA between minReplicas >= 1 and "
                "maxReplicas) or serverless (KEDA from zero, woken by the router; image pre-pulled on GPU nodes: "
                "dev). See README, Deployment patterns.",
            ),
            field("modelId", str, "Hugging Face repository id (organisation/name)."),
            field(
                "modelRevision",
                str,
                "Full 40-hex commit sha of the repository (never a branch or tag), so every replica serves "
                "the same weights; see docs/serving.md for how to look it up.",
            ),
            field("servedModelName", str, "Name clients put in the request's `model` field."),
            field("quantization", str, f"vLLM quantization method; one of {', '.join(QUANTIZATIONS)}."),
            field("dtype", str, f"Activation dtype; one of {', '.join(DTYPES)} (auto reads the checkpoint)."),
            field("maxModelLen", int, "Context length (prompt + completion tokens) the engine accepts.", ge=256),
            field("maxNumSeqs", int, "Sequences batched together; more wait in the engine's queue.", ge=1),
            field("maxNumBatchedTokens", int, "Token budget of one scheduler step (chunked prefill).", ge=256),
            field(
                "gpuMemoryUtilization",
                float,
                "Share of GPU memory vLLM may use (weights + KV cache); prod refuses below 0.85.",
                gt=0,
                le=0.98,
            ),
            field("tensorParallelSize", int, f"GPUs one layer is split across; one of {TENSOR_PARALLEL_SIZES}."),
            field(
                "gpusPerReplica", int, "GPUs per replica; a multiple of tensorParallelSize, at most gpusPerNode.", ge=1
            ),
            field(
                "minReplicas", int, "Fewest replicas; 0 lets dev scale to zero, prod needs at least 1 (2 for HA).", ge=0
            ),
            field("maxReplicas", int, "Most replicas the autoscaler may run.", ge=1),
            field("weightsGb", float, "Approximate size of the weights on disk (GB); sizes the startup probe.", gt=0),
            field("cpu", str, "CPU request and limit of a replica (Guaranteed QoS), e.g. '3' or '3500m'."),
            field("memory", str, "Memory request and limit of a replica, e.g. '12Gi' (includes /dev/shm)."),
            field(
                "kvOffloadGib",
                float,
                "Host memory (GiB) for vLLM's native KV-cache offloading (0: off); added to the replica's memory.",
                ge=0,
            ),
            field(
                "extraEngineArgs",
                list[str],
                "Further `vllm serve` flags; flags the component manages and --trust-remote-code are refused.",
            ),
        ]
    )


CHAT_DEFAULTS: dict[str, Any] = {
    "deploymentPattern": "horizontal",
    "modelId": "Qwen/Qwen2.5-7B-Instruct-AWQ",
    "modelRevision": "b25037543e9394b818fdfca67ab2a00ecc7dd641",
    "servedModelName": "qwen2.5-7b-instruct",
    "quantization": "awq_marlin",
    "dtype": "auto",
    "maxModelLen": 8192,
    "maxNumSeqs": 64,
    "maxNumBatchedTokens": 8192,
    "gpuMemoryUtilization": 0.90,
    "tensorParallelSize": 1,
    "gpusPerReplica": 1,
    "minReplicas": 1,
    "maxReplicas": 1,
    "weightsGb": 5.6,
    "cpu": "3",
    "memory": "12Gi",
    "kvOffloadGib": 0.0,
    "extraEngineArgs": [],
}
CLASSIFIER_DEFAULTS: dict[str, Any] = {
    **CHAT_DEFAULTS,
    "modelId": "Qwen/Qwen2.5-1.5B-Instruct",
    "modelRevision": "989aa7980e4cf806f80c7fef2b1adb7bc71aa306",
    "servedModelName": "qwen2.5-1.5b-instruct",
    "quantization": "none",
    "maxModelLen": 4096,
    "maxNumSeqs": 128,
    "weightsGb": 3.1,
    "cpu": "2",
    "memory": "10Gi",
}

#: The vLLM release the suite runs against (the CPU build of the same sources, tests/support/vllm_server.py).
VLLM_RELEASE = "v0.32.0"
#: Stands for "digest not resolved yet": no registry is reachable where this was written and no published digest of
#: the tag could be found (README, "Real vLLM in the tests"). Prod refuses it unless ``allowUnresolvedVllmDigest``
#: says so; dev renders it (its engine pods would sit in ErrImagePull: resolve the digest before a real `up`).
UNRESOLVED_DIGEST = "sha256:" + "0" * 64
#: The upstream vLLM OpenAI server image of that release; its digest is the placeholder until someone resolves it
#: (``crane digest vllm/vllm-openai:v0.32.0``) and replaces it here or sets ``vllmImage`` per stack.
DEFAULT_VLLM_IMAGE = f"vllm/vllm-openai:{VLLM_RELEASE}@{UNRESOLVED_DIGEST}"


class _ServingKeys(ConfigSection):
    """Keys shared by every served model."""

    engine: EngineKind = key(
        "engine",
        "Engine behind the router: vllm (GPUs) or simulator (app.enginesim from appImage, on system nodes, for "
        "a GPU-less environment; refused in prod).",
        "vllm",
    )
    vllm_image: str = key(
        "vllmImage",
        "The vLLM OpenAI server image, pinned by digest (repository[:tag]@sha256:...); tags alone are refused.",
        DEFAULT_VLLM_IMAGE,
    )
    allow_unresolved_vllm_digest: bool = key(
        "allowUnresolvedVllmDigest",
        "Let prod render although vllmImage's digest is the 'not resolved yet' placeholder (sha256:000...0). For "
        "offline renders and previews only: no cluster can pull that image. Resolve the digest and drop this key.",
        False,
    )
    autoscale_queue_depth_target: int = key(
        "autoscaleQueueDepthTarget",
        "Waiting requests (vllm:num_requests_waiting) per replica that justify one more replica.",
        4,
        ge=1,
    )
    autoscale_kv_cache_target: float = key(
        "autoscaleKvCacheTarget",
        "Average KV-cache usage (vllm:kv_cache_usage_perc, 0-1) per replica above which a replica is added.",
        0.8,
        gt=0,
        lt=1,
    )
    autoscale_polling_seconds: int = key(
        "autoscalePollingSeconds", "How often KEDA evaluates the Prometheus triggers.", 15, ge=5
    )
    autoscale_scale_down_seconds: int = key(
        "autoscaleScaleDownSeconds",
        "Stabilization window before removing a replica (GPU replicas are slow to bring back).",
        300,
        ge=0,
        le=3600,
    )
    autoscale_idle_seconds: int = key(
        "autoscaleIdleSeconds",
        "Idle time before a model whose minReplicas is 0 scales to zero (KEDA cooldownPeriod).",
        900,
        ge=60,
    )
    router_min_replicas: int = key("routerMinReplicas", "Fewest router replicas; prod needs at least 2.", 2, ge=1)
    router_max_replicas: int = key("routerMaxReplicas", "Most router replicas the CPU autoscaler may run.", 3, ge=1)
    router_cpu_target_percent: int = key(
        "routerCpuTargetPercent", "Average CPU utilization the router's HPA aims for.", 70, ge=10, le=95
    )
    capacity_context_tokens: int = key(
        "capacityContextTokens",
        "Tokens a typical conversation turn holds in the KV cache (prompt, history, passages, answer); the "
        "validation refuses a maxNumSeqs whose sequences of this length the planned KV cache cannot hold.",
        2048,
        ge=256,
    )
    model_cache_size_gi: int = key(
        "modelCacheSizeGi",
        "Size of the shared ReadWriteMany model cache (GiB); must hold every served revision.",
        100,
        ge=10,
    )
    engine_drain_seconds: int = key(
        "engineDrainSeconds",
        "Longest an in-flight stream may need to finish when its replica stops; sets the grace period.",
        120,
        ge=10,
        le=1800,
    )
    eval_max_macro_f1_drop: float = key(
        "evalMaxMacroF1Drop",
        "Evaluation gate: the most the classifier's macro-F1 (intent or emotion, 0-1) may fall below the baseline "
        "revision's recorded evaluation (eval/baselines/classifier.json) for a stack to serve a new revision.",
        DEFAULT_MAX_MACRO_F1_DROP,
        ge=0,
        le=1,
    )
    eval_max_class_recall_drop: float = key(
        "evalMaxClassRecallDrop",
        "Evaluation gate: the most any one intent's or emotion's recall (0-1) may fall below the baseline's.",
        DEFAULT_MAX_RECALL_DROP,
        ge=0,
        le=1,
    )
    hf_token: bool = key(
        "hfToken",
        "Hugging Face token for gated or private models; only the model-loader Job receives it.",
        False,
        secret=True,
    )

    @field_validator("vllm_image")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if not DIGEST_PINNED.match(value):
            raise ValueError("must be pinned by digest: <repository>[:<tag>]@sha256:<64 hex digits>")
        return value


_RoleKeys = create_model(
    "_RoleKeys",
    __base__=_ServingKeys,
    **_role_keys("chat", CHAT_DEFAULTS),
    **_role_keys("classifier", CLASSIFIER_DEFAULTS),
)


class ServingConfig(_RoleKeys):
    """The serving section: shared keys plus one set of model keys per role (see ``_role_keys``)."""

    def _get(self, role: ModelRole, name: str) -> Any:
        return getattr(self, f"{role}_{name}")

    def model(self, role: ModelRole) -> ModelSpec:
        """The typed spec of the model serving ``role``."""
        quantization = self._get(role, "quantization")
        return ModelSpec(
            role=role,
            model_id=self._get(role, "model_id"),
            revision=self._get(role, "model_revision"),
            served_model_name=self._get(role, "served_model_name"),
            quantization=None if quantization == "none" else quantization,
            dtype=self._get(role, "dtype"),
            max_model_len=self._get(role, "max_model_len"),
            max_num_seqs=self._get(role, "max_num_seqs"),
            max_num_batched_tokens=self._get(role, "max_num_batched_tokens"),
            gpu_memory_utilization=self._get(role, "gpu_memory_utilization"),
            tensor_parallel_size=self._get(role, "tensor_parallel_size"),
            gpus_per_replica=self._get(role, "gpus_per_replica"),
            min_replicas=self._get(role, "min_replicas"),
            max_replicas=self._get(role, "max_replicas"),
            weights_gb=self._get(role, "weights_gb"),
            cpu=self._get(role, "cpu"),
            memory=self._get(role, "memory"),
            extra_args=tuple(self._get(role, "extra_engine_args")),
            kv_offload_gib=self._get(role, "kv_offload_gib"),
            pattern=self._get(role, "deployment_pattern"),
        )

    @property
    def models(self) -> tuple[ModelSpec, ...]:
        return tuple(self.model(role) for role in MODEL_ROLES)

    def spec(self, cluster: ClusterConfig, app_image: str) -> ServingSpec:
        """Everything the serving component needs, from this section, the cluster section and the app image."""
        return ServingSpec(
            engine=self.engine,
            vllm_image=self.vllm_image,
            app_image=app_image,
            models=self.models,
            autoscaling=AutoscalingSpec(
                queue_depth_target=self.autoscale_queue_depth_target,
                kv_cache_target=self.autoscale_kv_cache_target,
                polling_seconds=self.autoscale_polling_seconds,
                scale_down_stabilization_seconds=self.autoscale_scale_down_seconds,
                idle_seconds_before_zero=self.autoscale_idle_seconds,
            ),
            router=RouterSpec(
                min_replicas=self.router_min_replicas,
                max_replicas=self.router_max_replicas,
                cpu_target_percent=self.router_cpu_target_percent,
            ),
            model_cache_size_gi=self.model_cache_size_gi,
            drain_seconds=self.engine_drain_seconds,
            spread_across_zones=cluster.is_prod,
            surge_fits=self.engine != "vllm" or gpu_demand(self.models, surge=True) <= gpu_capacity(cluster),
        )

    # --- validation ------------------------------------------------------------------------------------------
    def issues(self, cluster: ClusterConfig) -> list[ConfigIssue]:
        """Per-model rules, rules across models, and what prod promises."""
        found: list[ConfigIssue] = []
        for role in MODEL_ROLES:
            found.extend(_model_issues(self.model(role), cluster, self.engine, self.capacity_context_tokens))
        chat, classifier = self.model("chat"), self.model("classifier")
        if chat.served_model_name == classifier.served_model_name:
            found.append(
                ConfigIssue(
                    "classifierServedModelName",
                    classifier.served_model_name,
                    "must differ from chatServedModelName (the router routes by served name)",
                )
            )
        found.extend(self._evaluation_issues(classifier))
        if self.router_max_replicas < self.router_min_replicas:
            found.append(
                ConfigIssue(
                    "routerMaxReplicas",
                    self.router_max_replicas,
                    f"must be >= routerMinReplicas ({self.router_min_replicas})",
                )
            )
        if self.engine == "vllm":
            found.extend(_capacity_issues(self.models, cluster))
        if cluster.is_prod:
            found.extend(self._prod_issues())
        return found

    def _evaluation_issues(self, classifier: ModelSpec) -> list[ConfigIssue]:
        """The classifier revision must be the evaluated baseline, or have a recorded evaluation that passes the
        gate against it (eval/gate.py); the issue carries the gate's numbers and the classes that got worse."""
        margins = GateMargins(self.eval_max_macro_f1_drop, self.eval_max_class_recall_drop)
        verdict = eval_records.verdict_for(classifier.model_id, classifier.revision, margins, eval_records.load())
        if verdict.passed:
            return []
        return [
            ConfigIssue(
                "classifierModelRevision",
                classifier.revision,
                f"the evaluation gate refuses {classifier.model_id}@{classifier.revision[:12]}: {verdict.explain()}",
            )
        ]

    def _prod_issues(self) -> list[ConfigIssue]:
        found: list[ConfigIssue] = []
        if self.engine != "vllm":
            found.append(ConfigIssue("engine", self.engine, "prod allows only vllm"))
        if self.router_min_replicas < 2:
            found.append(ConfigIssue("routerMinReplicas", self.router_min_replicas, "prod needs at least 2"))
        if self.vllm_image.endswith(f"@{UNRESOLVED_DIGEST}") and not self.allow_unresolved_vllm_digest:
            found.append(
                ConfigIssue(
                    "vllmImage",
                    self.vllm_image,
                    "its digest is the 'not resolved yet' placeholder: resolve it where a registry is reachable "
                    f"(crane digest {self.vllm_image.split('@')[0]}) and set it, or set "
                    "allowUnresolvedVllmDigest: true to render anyway (no cluster can pull it)",
                )
            )
        for model in self.models:
            if model.gpu_memory_utilization < PROD_MIN_GPU_MEMORY_UTILIZATION:
                found.append(
                    ConfigIssue(
                        f"{model.role}GpuMemoryUtilization",
                        model.gpu_memory_utilization,
                        f"prod allows only {PROD_MIN_GPU_MEMORY_UTILIZATION} to 0.98 (less wastes the GPU's KV cache)",
                    )
                )
            if model.pattern != "horizontal":
                found.append(
                    ConfigIssue(
                        f"{model.role}DeploymentPattern",
                        model.pattern,
                        PROD_PATTERN_PROBLEMS[model.pattern],
                    )
                )
        return found


def _model_issues(
    model: ModelSpec, cluster: ClusterConfig, engine: EngineKind, context_tokens: int
) -> list[ConfigIssue]:
    """Rules of one model; keys are named with the model's role prefix."""
    role = model.role
    found: list[ConfigIssue] = []

    def issue(name: str, value: Any, problem: str) -> None:
        found.append(ConfigIssue(role + name, value, problem))

    if not HF_REPO_ID.match(model.model_id):
        issue("ModelId", model.model_id, "must be a Hugging Face repository id such as Qwen/Qwen2.5-7B-Instruct-AWQ")
    if not COMMIT_SHA.match(model.revision):
        issue("ModelRevision", model.revision, "must be a full 40-hex commit sha (lower case), not a branch or tag")
    if not SERVED_NAME.match(model.served_model_name):
        issue(
            "ServedModelName",
            model.served_model_name,
            "must be 1-38 lower-case letters, digits, '.' or '-', starting and ending with a letter or digit",
        )
    if (model.quantization or "none") not in QUANTIZATIONS:
        issue("Quantization", model.quantization, f"allowed: {', '.join(QUANTIZATIONS)}")
    if model.dtype not in DTYPES:
        issue("Dtype", model.dtype, f"allowed: {', '.join(DTYPES)}")
    elif model.quantization in ("awq", "gptq") and model.dtype == "bfloat16":
        issue("Dtype", model.dtype, f"{model.quantization} kernels run in float16; use auto or float16")
    if model.max_num_batched_tokens < model.max_num_seqs:
        issue(
            "MaxNumBatchedTokens",
            model.max_num_batched_tokens,
            f"must be >= {role}MaxNumSeqs ({model.max_num_seqs}); vLLM refuses a smaller step budget",
        )
    found.extend(_pattern_issues(model))
    if model.max_replicas < model.min_replicas:
        issue("MaxReplicas", model.max_replicas, f"must be >= {role}MinReplicas ({model.min_replicas})")
    for quantity_name, quantity in (("Cpu", model.cpu), ("Memory", model.memory)):
        if not QUANTITY.match(quantity):
            issue(quantity_name, quantity, "must be a Kubernetes quantity such as 3, 3500m or 12Gi")
    if model.kv_offload_gib > 0 and QUANTITY.match(model.memory) and memory_mi(model.memory) is None:
        *first, last = MEMORY_UNITS_MI
        issue(
            "Memory",
            model.memory,
            f"must be in {', '.join(first)} or {last} when {role}KvOffloadGib is set (the buffer is added)",
        )
    found.extend(_extra_arg_issues(model))
    if engine == "vllm":
        found.extend(_gpu_issues(model, cluster))
        found.extend(_kv_cache_issues(model, cluster, context_tokens))
    return found


def _pattern_issues(model: ModelSpec) -> list[ConfigIssue]:
    """Replica bounds that contradict the model's deployment pattern.

    The bounds stay explicit keys (Pulumi passes every declared default, so "unset" cannot be told from "set to the
    default"): the pattern names the intent and the bounds must agree with it.
    """
    role, pattern = model.role, model.pattern
    if pattern == "single":
        return [
            ConfigIssue(
                f"{role}{name}",
                value,
                f"the single pattern runs exactly one replica: set 1, or set {role}DeploymentPattern to "
                "horizontal (or serverless) to scale",
            )
            for name, value in (("MinReplicas", model.min_replicas), ("MaxReplicas", model.max_replicas))
            if value != 1
        ]
    if pattern == "horizontal" and model.min_replicas < 1:
        return [
            ConfigIssue(
                f"{role}MinReplicas",
                model.min_replicas,
                f"the horizontal pattern keeps at least one replica: set 1 or more, or set {role}DeploymentPattern "
                "to serverless to scale to zero when idle",
            )
        ]
    if pattern == "serverless" and model.min_replicas != 0:
        return [
            ConfigIssue(
                f"{role}MinReplicas",
                model.min_replicas,
                f"the serverless pattern scales to zero when idle: set 0, or set {role}DeploymentPattern to "
                "horizontal to keep replicas",
            )
        ]
    return []


def _extra_arg_issues(model: ModelSpec) -> list[ConfigIssue]:
    found: list[ConfigIssue] = []
    for arg in model.extra_args:
        flag = arg.split("=", 1)[0]
        if flag in FORBIDDEN_ENGINE_FLAGS:
            found.append(
                ConfigIssue(
                    f"{model.role}ExtraEngineArgs",
                    list(model.extra_args),
                    f"{flag} is refused: it runs code shipped with the model repository inside the engine",
                )
            )
        elif flag in MANAGED_ENGINE_FLAGS:
            found.append(
                ConfigIssue(
                    f"{model.role}ExtraEngineArgs",
                    list(model.extra_args),
                    f"{flag} is set by the serving component from its own key; set that key instead",
                )
            )
    return found


def _gpu_issues(model: ModelSpec, cluster: ClusterConfig) -> list[ConfigIssue]:
    role = model.role
    found: list[ConfigIssue] = []
    if model.tensor_parallel_size not in TENSOR_PARALLEL_SIZES:
        found.append(
            ConfigIssue(
                f"{role}TensorParallelSize",
                model.tensor_parallel_size,
                f"allowed: {', '.join(map(str, TENSOR_PARALLEL_SIZES))}",
            )
        )
    elif model.gpus_per_replica % model.tensor_parallel_size:
        found.append(
            ConfigIssue(
                f"{role}GpusPerReplica",
                model.gpus_per_replica,
                f"must be a multiple of {role}TensorParallelSize ({model.tensor_parallel_size}); "
                "the quotient is the pipeline-parallel size",
            )
        )
    if model.gpus_per_replica > cluster.gpus_per_node:
        found.append(
            ConfigIssue(
                f"{role}GpusPerReplica",
                model.gpus_per_replica,
                f"must be <= gpusPerNode ({cluster.gpus_per_node}): a replica runs on one node",
            )
        )
    budget = GPU_MEMORY_GB[cluster.gpu_type] * model.gpu_memory_utilization * MAX_WEIGHTS_SHARE
    per_gpu = model.weights_gb / model.gpus_per_replica
    if per_gpu > budget:
        found.append(
            ConfigIssue(
                f"{role}WeightsGb",
                model.weights_gb,
                f"{per_gpu:.1f} GB of weights per GPU leaves too little KV cache on {cluster.gpu_type} "
                f"(at most {budget:.1f} GB); add GPUs per replica, quantize, or pick a larger GPU",
            )
        )
    return found


def _kv_cache_issues(model: ModelSpec, cluster: ClusterConfig, context_tokens: int) -> list[ConfigIssue]:
    """The planner's KV cache (infra/capacity) must hold one full-length sequence and maxNumSeqs typical ones.

    Only for models whose architecture the planner knows; others keep the weightsGb share check above.
    """
    architecture = known_model(model.model_id)
    if architecture is None:
        return []
    role = model.role
    plan = plan_memory(
        architecture,
        gpu_profile(cluster.gpu_type),
        EngineLimits(
            gpu_memory_utilization=model.gpu_memory_utilization,
            max_model_len=model.max_model_len,
            max_num_seqs=model.max_num_seqs,
            max_num_batched_tokens=model.max_num_batched_tokens,
            gpus_per_replica=model.gpus_per_replica,
            kv_offload_gib=model.kv_offload_gib,
        ),
    )
    numbers = (
        f"on {cluster.gpu_type} x{model.gpus_per_replica} at gpuMemoryUtilization {model.gpu_memory_utilization:g}: "
        f"{plan.budget_gib:.1f} GiB per GPU = weights {plan.weights_gib:.1f} + activations "
        f"{plan.activations_gib:.1f} + overhead {plan.overhead_gib:.1f} + KV cache {plan.kv_cache_gib:.1f} "
        f"({plan.kv_tokens:,} tokens)"
    )
    if plan.kv_tokens < model.max_model_len:
        return [
            ConfigIssue(
                f"{role}MaxModelLen",
                model.max_model_len,
                f"one sequence of this length does not fit the KV cache {numbers}; vLLM refuses to start. "
                "Lower it, quantize, add GPUs per replica, or pick a larger GPU (make capacity shows the arithmetic)",
            )
        ]
    context = min(context_tokens, model.max_model_len)
    held = plan.max_sequences(context)
    if model.max_num_seqs > held:
        return [
            ConfigIssue(
                f"{role}MaxNumSeqs",
                model.max_num_seqs,
                f"the KV cache holds {held} sequences of {context} tokens (capacityContextTokens) {numbers}; "
                "beyond that vLLM preempts running sequences. Lower it or give the model more KV cache",
            )
        ]
    return []


def gpu_demand(models: tuple[ModelSpec, ...], *, surge: bool) -> int:
    """GPUs every model needs at its maximum; with ``surge``, plus one rollout surge replica each (one `up` may roll
    every model at once)."""
    return sum((model.max_replicas + int(surge)) * model.gpus_per_replica for model in models)


def gpu_capacity(cluster: ClusterConfig) -> int:
    return cluster.gpu_pool_max_nodes * cluster.gpus_per_node


def _capacity_issues(models: tuple[ModelSpec, ...], cluster: ClusterConfig) -> list[ConfigIssue]:
    """The GPU pool must fit every model at its maximum, or the autoscaler promises replicas it cannot place; prod
    must also fit a surge replica per model, since it promises that upgrades never drop capacity (dev rolls
    old-before-new instead when the surge does not fit: infra/serving/engine.py)."""
    demand, capacity = gpu_demand(models, surge=False), gpu_capacity(cluster)
    with_surge = gpu_demand(models, surge=True)
    if demand <= capacity and cluster.is_prod and with_surge > capacity:
        return [
            ConfigIssue(
                "gpuPoolMaxNodes",
                cluster.gpu_pool_max_nodes,
                f"prod engines roll new-before-old: at their maximum the models need {with_surge} GPUs with one surge "
                f"replica each, but the pool holds {capacity} (gpuPoolMaxNodes x gpusPerNode); raise it",
            )
        ]
    if demand <= capacity:
        return []
    detail = " + ".join(f"{m.role} {m.max_replicas}x{m.gpus_per_replica}" for m in models)
    return [
        ConfigIssue(
            "gpuPoolMaxNodes",
            cluster.gpu_pool_max_nodes,
            f"the models may need {demand} GPUs at their maximum ({detail}) but the pool holds {capacity} "
            "(gpuPoolMaxNodes x gpusPerNode); raise it or lower the models' maxReplicas",
        )
    ]
