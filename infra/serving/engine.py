"""One engine per served model: its Deployment, headless Service and disruption budget, as plain data.

The same builder serves both engines: vLLM on GPU nodes from the shared cache, or the simulator from the app
image on system nodes. Only the image, the command, the scheduling and the cache plumbing differ; the
argument list, probes, lifecycle, labels, Service and budget are identical, so everything in front of the
engine (router, KEDA, policies, dashboards) cannot tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.cluster import GpuScheduling
from infra.k8s.labels import selector_labels, standard_labels
from infra.k8s.quantities import add_gib
from infra.k8s.security import restricted_container_security_context, restricted_pod_security_context
from infra.serving.engine_args import engine_args
from infra.serving.model_cache import CACHE_CLAIM, CACHE_MOUNT, wait_for_cache_container
from infra.serving.pods import (
    PRE_STOP_DELAY_SECONDS,
    SYSTEM_NODE_SELECTOR,
    disruption_budget,
    http_probe,
    pre_stop_sleep,
    scratch_volume,
    spread_constraints,
)
from infra.serving.spec import ENGINE_PORT, EngineKind, ModelSpec
from infra.serving.startup import StartupBudget, simulator_startup_budget, startup_budget

ENGINE_COMPONENT = "engine"
ENGINE_SERVICE_ACCOUNT = "engine"
API_KEY_ENV = "VLLM_API_KEY"
VLLM_COMMAND = ["vllm", "serve"]
SIMULATOR_COMMAND = ["python", "-m", "app.enginesim"]
#: /dev/shm for NCCL and the engine's worker processes; tensor parallelism moves activations through it.
SHM_GI_PER_GPU = 2
#: Resources of the simulator (it models latency, it does not compute).
SIMULATOR_RESOURCES = {"cpu": "500m", "memory": "512Mi"}
#: The engine's user name and HOME (an emptyDir): the image's passwd has no entry for the pod's UID (10001).
ENGINE_USER = "engine"
ENGINE_HOME = "/home/engine"
#: Time for a GPU node to join when the pool scales up (pending pod -> node Ready -> image pulled).
NODE_PROVISIONING_SECONDS = 900


@dataclass(frozen=True)
class ApiKeyRef:
    """The Secret holding the engine API key, and its key."""

    secret: str
    key: str


def engine_name(kind: EngineKind, model: ModelSpec) -> str:
    """``vllm-<served name>`` or ``enginesim-<served name>``: the Deployment, its Service and its pods' name label."""
    return f"{'vllm' if kind == 'vllm' else 'enginesim'}-{model.slug}"


def engine_labels(kind: EngineKind, model: ModelSpec, stack: str) -> dict[str, str]:
    """Every engine carries component ``engine`` (the NetworkPolicy and ServiceMonitor select on it)."""
    return {
        **standard_labels(engine_name(kind, model), ENGINE_COMPONENT, stack),
        "helpline.io/model-role": model.role,
        "helpline.io/served-model": model.served_model_name,
    }


def model_annotations(model: ModelSpec, image: str) -> dict[str, str]:
    """What a replica serves, readable with ``kubectl get deploy -o yaml`` and by dashboards: the checkpoint and its
    revision, the quantization and the engine image (issue 15's model metadata)."""
    return {
        "helpline.io/model-id": model.model_id,
        "helpline.io/model-revision": model.revision,
        "helpline.io/quantization": model.quantization or "none",
        "helpline.io/engine-image": image,
    }


def shm_size(model: ModelSpec) -> str:
    return f"{SHM_GI_PER_GPU * model.gpus_per_replica}Gi"


def engine_budget(kind: EngineKind, model: ModelSpec) -> StartupBudget:
    return startup_budget(model.weights_gb) if kind == "vllm" else simulator_startup_budget()


def termination_grace_seconds(drain_seconds: int) -> int:
    """The pre-stop delay, then time for in-flight streams to finish before SIGKILL."""
    return PRE_STOP_DELAY_SECONDS + drain_seconds


def _engine_env(kind: EngineKind, api_key: ApiKeyRef) -> list[dict[str, Any]]:
    key_env = {"name": API_KEY_ENV, "valueFrom": {"secretKeyRef": {"name": api_key.secret, "key": api_key.key}}}
    if kind == "simulator":
        return [key_env]
    return [
        key_env,
        # Start from the cache only: no network, no surprise re-download of a moving revision.
        {"name": "HF_HUB_OFFLINE", "value": "1"},
        {"name": "TRANSFORMERS_OFFLINE", "value": "1"},
        {"name": "HF_HOME", "value": str(CACHE_MOUNT)},
        *_identity_and_cache_env(),
        {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
        {"name": "DO_NOT_TRACK", "value": "1"},
    ]


def _identity_and_cache_env() -> list[dict[str, Any]]:
    """Who the process is and where it may write, for UID 10001 with no passwd entry on a read-only root.

    Python's ``getpass.getuser()`` reads ``USER``/``LOGNAME`` before it falls back to the passwd database, which has
    no entry for our UID: PyTorch's compile cache calls it at start and would crash the engine without them. Every
    cache (vLLM's compile cache, TorchInductor, Triton, FlashInfer via XDG) is named explicitly under HOME, the
    ``home`` emptyDir, so none falls back to a path on the read-only image or to a per-user name under /tmp.
    """
    cache = f"{ENGINE_HOME}/.cache"
    return [
        {"name": "USER", "value": ENGINE_USER},
        {"name": "LOGNAME", "value": ENGINE_USER},
        {"name": "HOME", "value": ENGINE_HOME},
        {"name": "XDG_CACHE_HOME", "value": cache},
        {"name": "VLLM_CACHE_ROOT", "value": f"{cache}/vllm"},
        {"name": "TORCHINDUCTOR_CACHE_DIR", "value": f"{cache}/torchinductor"},
        {"name": "TRITON_CACHE_DIR", "value": f"{cache}/triton"},
    ]


def engine_rolling_update(surge_fits: bool) -> dict[str, int]:
    """New-before-old (capacity never drops) where the GPU pool has room for the surge pod; otherwise old-before-new,
    one replica at a time: a surge pod that can get no GPU would wait until the deadline and fail the update."""
    return {"maxSurge": 1, "maxUnavailable": 0} if surge_fits else {"maxSurge": 0, "maxUnavailable": 1}


def engine_deployment(
    kind: EngineKind,
    model: ModelSpec,
    *,
    namespace: str,
    stack: str,
    image: str,
    api_key: ApiKeyRef,
    gpu: GpuScheduling,
    drain_seconds: int,
    spread_across_zones: bool,
    surge_fits: bool = True,
) -> dict[str, Any]:
    """The engine Deployment. No ``replicas`` when KEDA owns the count (Pulumi would fight it on every update); the
    single pattern has no autoscaler and says ``replicas: 1`` itself."""
    name = engine_name(kind, model)
    labels = engine_labels(kind, model, stack)
    budget = engine_budget(kind, model)
    tmp_volume, tmp_mount = scratch_volume("tmp", "/tmp", "1Gi")  # noqa: S108
    volumes = [tmp_volume]
    mounts = [tmp_mount]
    init_containers: list[dict[str, Any]] = []
    if kind == "vllm":
        resources = {
            "cpu": model.cpu,
            "memory": replica_memory(model),
            gpu.resource_name: str(model.gpus_per_replica),
        }
        home_volume, home_mount = scratch_volume("home", ENGINE_HOME, "10Gi")
        shm_volume, shm_mount = scratch_volume(
            "dshm",
            "/dev/shm",  # noqa: S108  (shared memory for NCCL, not a temp file)
            shm_size(model),
            memory=True,
        )
        volumes += [
            home_volume,
            shm_volume,
            {"name": CACHE_CLAIM, "persistentVolumeClaim": {"claimName": CACHE_CLAIM, "readOnly": True}},
        ]
        mounts += [home_mount, shm_mount, {"name": CACHE_CLAIM, "mountPath": str(CACHE_MOUNT), "readOnly": True}]
        init_containers.append(
            wait_for_cache_container(
                model,
                image,
                {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "32Mi"}},
            )
        )
        command = VLLM_COMMAND
        scheduling = gpu.pod_spec()
    else:
        resources = dict(SIMULATOR_RESOURCES)
        command = SIMULATOR_COMMAND
        scheduling = {"nodeSelector": dict(SYSTEM_NODE_SELECTOR)}
    container = {
        "name": ENGINE_COMPONENT,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "args": engine_args(model),
        "ports": [{"name": "http", "containerPort": ENGINE_PORT, "protocol": "TCP"}],
        "env": _engine_env(kind, api_key),
        # Guaranteed QoS (requests == limits): the last pods the kubelet evicts under memory pressure.
        "resources": {"requests": dict(resources), "limits": dict(resources)},
        "securityContext": restricted_container_security_context(),
        "startupProbe": http_probe("/health", period=budget.period_seconds, failure_threshold=budget.failure_threshold),
        "readinessProbe": http_probe("/health", period=5, failure_threshold=3),
        # Generous: a saturated engine answers /health late; restarting it would only lose its KV cache.
        "livenessProbe": http_probe("/health", period=10, failure_threshold=6, timeout=10),
        "lifecycle": pre_stop_sleep(),
        "volumeMounts": mounts,
    }
    pod_spec: dict[str, Any] = {
        "serviceAccountName": ENGINE_SERVICE_ACCOUNT,
        "automountServiceAccountToken": False,
        # Service links would inject VLLM_*-prefixed variables (vllm-<name> Services) that vLLM reads as config.
        "enableServiceLinks": False,
        "securityContext": restricted_pod_security_context(),
        "terminationGracePeriodSeconds": termination_grace_seconds(drain_seconds),
        "containers": [container],
        "volumes": volumes,
        "topologySpreadConstraints": spread_constraints(selector_labels(name), across_zones=spread_across_zones),
        **scheduling,
    }
    if init_containers:
        pod_spec["initContainers"] = init_containers
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            # A new GPU node, the cache wait and the model load all happen before the first replica is ready.
            "annotations": {
                "pulumi.com/timeoutSeconds": str(NODE_PROVISIONING_SECONDS + budget.seconds),
                **model_annotations(model, image),
            },
        },
        "spec": {
            **({} if model.autoscaled else {"replicas": 1}),
            "selector": {"matchLabels": selector_labels(name)},
            "revisionHistoryLimit": 3,
            "progressDeadlineSeconds": NODE_PROVISIONING_SECONDS + budget.seconds,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": engine_rolling_update(surge_fits)},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {"kubectl.kubernetes.io/default-container": ENGINE_COMPONENT},
                },
                "spec": pod_spec,
            },
        },
    }


def engine_service(kind: EngineKind, model: ModelSpec, *, namespace: str, stack: str) -> dict[str, Any]:
    """Headless, so its EndpointSlices list each ready replica's pod IP for the router (and DNS for direct use)."""
    name = engine_name(kind, model)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": engine_labels(kind, model, stack)},
        "spec": {
            "clusterIP": "None",
            "selector": selector_labels(name),
            "ports": [{"name": "http", "port": ENGINE_PORT, "targetPort": "http", "protocol": "TCP"}],
            "publishNotReadyAddresses": False,
        },
    }


def engine_disruption_budget(kind: EngineKind, model: ModelSpec, *, namespace: str, stack: str) -> dict[str, Any]:
    name = engine_name(kind, model)
    return disruption_budget(name, namespace, engine_labels(kind, model, stack), selector_labels(name))


def engine_url(kind: EngineKind, model: ModelSpec, namespace: str) -> str:
    """The model's direct in-cluster base URL (DNS round robin over ready replicas, no session affinity)."""
    return f"http://{engine_name(kind, model)}.{namespace}.svc.cluster.local:{ENGINE_PORT}/v1"


def replica_memory(model: ModelSpec) -> str:
    """The replica's memory with its KV-offloading buffer added: vLLM pins that host memory at start-up.

    The config's ``memory`` is validated as a Kubernetes quantity (in Mi, Gi or Ti when offloading is on); the sum is
    written in Mi. Without offloading the configured quantity is kept as written.
    """
    if model.kv_offload_gib <= 0:
        return model.memory
    try:
        return add_gib(model.memory, model.kv_offload_gib)
    except ValueError as error:
        raise ValueError(f"{model.role}: {error} (kvOffloadGib)") from None
