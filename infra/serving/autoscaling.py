"""Queue-depth autoscaling with KEDA: the chart's values, and one ScaledObject per model.

Queries use only metric names from ``app.contracts.metrics`` and only the ``model_name`` label vLLM emits.
With zero replicas vLLM exports nothing, so queue depth can never wake a model; a serverless model (it scales to
zero) therefore also has a wake-up trigger on the router's ``no_backend`` count, which exists at zero. A model on the
single pattern gets no ScaledObject at all (infra/serving/patterns.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.k8s.labels import KUBE_API_ACCESS
from infra.platform.charts import ChartRef
from infra.serving.engine import engine_labels, engine_name
from infra.serving.pods import SYSTEM_NODE_SELECTOR
from infra.serving.spec import AutoscalingSpec, EngineKind, ModelSpec

KEDA_CHART = ChartRef("keda", "2.20.2", "https://kedacore.github.io/charts")
KEDA_RELEASE = "keda"
#: Pod labels the KEDA chart puts on its three Deployments (used by our NetworkPolicies).
KEDA_OPERATOR_LABELS = {"app": "keda-operator"}
KEDA_METRICS_SERVER_LABELS = {"app": "keda-operator-metrics-apiserver"}
KEDA_WEBHOOKS_LABELS = {"app": "keda-admission-webhooks"}
KEDA_GRPC_PORT = 9666
KEDA_METRICS_SERVER_PORT = 6443
KEDA_WEBHOOKS_PORT = 9443
#: Window of the router's no-backend rate: long enough to hold the wake signal while a node comes up.
WAKE_WINDOW = "2m"


@dataclass(frozen=True)
class Trigger:
    name: str
    query: str
    threshold: str
    activation_threshold: str = "0"


def queue_depth_query(model: ModelSpec) -> str:
    return f'sum(vllm:num_requests_waiting{{model_name="{model.served_model_name}"}})'


def kv_cache_query(model: ModelSpec) -> str:
    """Summed over replicas: with AverageValue, KEDA divides by the replica count (average usage per replica)."""
    return f'sum(vllm:kv_cache_usage_perc{{model_name="{model.served_model_name}"}})'


def wake_query(model: ModelSpec) -> str:
    """1 while the router is refusing requests for lack of a replica, else 0: asks for exactly one replica."""
    return (
        f'sum(rate(helpline_router_requests_total{{model="{model.served_model_name}",outcome="no_backend"}}'
        f"[{WAKE_WINDOW}])) > bool 0"
    )


def triggers(model: ModelSpec, spec: AutoscalingSpec) -> list[Trigger]:
    found = [
        Trigger("queue-depth", queue_depth_query(model), str(spec.queue_depth_target)),
        Trigger("kv-cache", kv_cache_query(model), f"{spec.kv_cache_target:g}"),
    ]
    if model.scales_to_zero:
        found.append(Trigger("wake-from-zero", wake_query(model), "1"))
    return found


def scaled_object(
    kind: EngineKind,
    model: ModelSpec,
    spec: AutoscalingSpec,
    *,
    namespace: str,
    stack: str,
    prometheus_url: Any,
) -> dict[str, Any]:
    name = engine_name(kind, model)
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": namespace, "labels": engine_labels(kind, model, stack)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicaCount": model.min_replicas,
            "maxReplicaCount": model.max_replicas,
            "pollingInterval": spec.polling_seconds,
            "cooldownPeriod": spec.idle_seconds_before_zero,
            # Prometheus unreachable: keep what runs (or the floor), never drop a loaded model blindly.
            "fallback": {
                "failureThreshold": 3,
                "replicas": max(model.min_replicas, 1),
                "behavior": "currentReplicasIfHigher",
            },
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    "behavior": {
                        # Queues grow fast and a GPU replica takes minutes to start: add up to 2 at once.
                        "scaleUp": {
                            "stabilizationWindowSeconds": 0,
                            "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
                        },
                        # Remove one replica at a time after a quiet window; a removed replica's cache is lost.
                        "scaleDown": {
                            "stabilizationWindowSeconds": spec.scale_down_stabilization_seconds,
                            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}],
                        },
                    }
                }
            },
            "triggers": [
                {
                    "type": "prometheus",
                    "name": trigger.name,
                    # AverageValue everywhere: the desired count is ceil(value / threshold), and fallback works.
                    "metricType": "AverageValue",
                    "metadata": {
                        "serverAddress": prometheus_url,
                        "query": trigger.query,
                        "threshold": trigger.threshold,
                        "activationThreshold": trigger.activation_threshold,
                        "ignoreNullValues": "true",
                    },
                }
                for trigger in triggers(model, spec)
            ],
        },
    }


def keda_values(*, watch_namespace: str, high_availability: bool) -> dict[str, Any]:
    """KEDA watches only the serving namespace and runs on system nodes; two operators in prod (leader election)."""
    replicas = 2 if high_availability else 1
    return {
        "watchNamespace": watch_namespace,
        "crds": {"install": True},
        "image": {
            "keda": {"tag": KEDA_CHART.version},
            "metricsApiServer": {"tag": KEDA_CHART.version},
            "webhooks": {"tag": KEDA_CHART.version},
            "pullPolicy": "IfNotPresent",
        },
        "operator": {"replicaCount": replicas},
        "metricsServer": {"replicaCount": replicas},
        "webhooks": {"replicaCount": replicas},
        "podDisruptionBudget": {
            "operator": {"maxUnavailable": 1},
            "metricServer": {"maxUnavailable": 1},
            "webhooks": {"maxUnavailable": 1},
        },
        "nodeSelector": dict(SYSTEM_NODE_SELECTOR),
        # all three watch or serve the Kubernetes API: the opt-in label lets them through the default deny
        "podLabels": {
            "keda": dict(KUBE_API_ACCESS),
            "metricsAdapter": dict(KUBE_API_ACCESS),
            "webhooks": dict(KUBE_API_ACCESS),
        },
        "logging": {"operator": {"format": "json"}, "webhooks": {"format": "json"}},
        # Our own, narrower NetworkPolicies cover KEDA (see infra/serving/network.py).
        "networkPolicy": {"enabled": False},
    }
