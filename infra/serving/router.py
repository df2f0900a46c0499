"""The session-affine router (``python -m app.router``): one Deployment in front of every model's replicas.

It discovers replicas by watching each model's headless Service's EndpointSlices, so it needs a namespaced
Role for exactly that and nothing else. Its process contract is in docs/serving.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from infra.k8s.labels import KUBE_API_ACCESS, selector_labels, standard_labels
from infra.k8s.objects import service_account
from infra.k8s.security import restricted_container_security_context, restricted_pod_security_context
from infra.serving.engine import engine_name
from infra.serving.pods import (
    SYSTEM_NODE_SELECTOR,
    disruption_budget,
    http_probe,
    pre_stop_sleep,
    scratch_volume,
    spread_constraints,
)
from infra.serving.spec import APP_PORT, ENGINE_PORT, EngineKind, ModelSpec, RouterSpec

ROUTER = "router"
ROUTER_COMPONENT = "router"  # the monitoring ServiceMonitors select this (docs/monitoring.md)
ROUTER_COMMAND = ["python", "-m", "app.router"]
ROUTER_RESOURCES = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
#: A stream through the router lasts as long as the engine's; let it finish on scale-down too.
ROUTER_GRACE_SECONDS = 60


def router_labels(stack: str) -> dict[str, str]:
    return standard_labels(ROUTER, ROUTER_COMPONENT, stack)


def router_backends(kind: EngineKind, models: Sequence[ModelSpec], namespace: str) -> str:
    """``ROUTER_BACKENDS``: served model name -> the headless Service whose EndpointSlices list its replicas."""
    return json.dumps(
        {
            model.served_model_name: {
                "kubernetes": {"namespace": namespace, "service": engine_name(kind, model), "port": ENGINE_PORT}
            }
            for model in models
        },
        sort_keys=True,
    )


def router_service_account(namespace: str, stack: str) -> dict[str, Any]:
    """The one serving pod that mounts an API token: it watches EndpointSlices."""
    return service_account(ROUTER, namespace, router_labels(stack), automount=True)


def router_role(namespace: str, stack: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": f"{ROUTER}-endpointslices", "namespace": namespace, "labels": router_labels(stack)},
        "rules": [
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]}
        ],
    }


def router_role_binding(namespace: str, stack: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"{ROUTER}-endpointslices", "namespace": namespace, "labels": router_labels(stack)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{ROUTER}-endpointslices"},
        "subjects": [{"kind": "ServiceAccount", "name": ROUTER, "namespace": namespace}],
    }


def router_deployment(
    *,
    kind: EngineKind,
    models: Sequence[ModelSpec],
    namespace: str,
    stack: str,
    image: str,
    spread_across_zones: bool,
) -> dict[str, Any]:
    """No ``replicas``: the HPA owns the count (its minimum is the floor, 2 in prod)."""
    labels = router_labels(stack)
    tmp_volume, tmp_mount = scratch_volume("tmp", "/tmp", "256Mi")  # noqa: S108
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": ROUTER, "namespace": namespace, "labels": labels},
        "spec": {
            "selector": {"matchLabels": selector_labels(ROUTER)},
            "revisionHistoryLimit": 3,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                # the opt-in label lets the EndpointSlice watch through the namespace's default deny
                "metadata": {"labels": {**labels, **KUBE_API_ACCESS}},
                "spec": {
                    "serviceAccountName": ROUTER,
                    # The router watches EndpointSlices through the API (Role: endpointslices get/list/watch only).
                    "automountServiceAccountToken": True,
                    "enableServiceLinks": False,
                    "securityContext": restricted_pod_security_context(),
                    "terminationGracePeriodSeconds": ROUTER_GRACE_SECONDS,
                    "nodeSelector": dict(SYSTEM_NODE_SELECTOR),
                    "topologySpreadConstraints": spread_constraints(
                        selector_labels(ROUTER), across_zones=spread_across_zones
                    ),
                    "containers": [
                        {
                            "name": ROUTER,
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ROUTER_COMMAND,
                            "args": ["--port", str(APP_PORT)],
                            "ports": [{"name": "http", "containerPort": APP_PORT, "protocol": "TCP"}],
                            "env": [{"name": "ROUTER_BACKENDS", "value": router_backends(kind, models, namespace)}],
                            "resources": ROUTER_RESOURCES,
                            "securityContext": restricted_container_security_context(),
                            "startupProbe": http_probe("/healthz", period=2, failure_threshold=30, timeout=2),
                            "readinessProbe": http_probe("/readyz", period=5, failure_threshold=2, timeout=2),
                            "livenessProbe": http_probe("/healthz", period=10, failure_threshold=3, timeout=2),
                            "lifecycle": pre_stop_sleep(),
                            "volumeMounts": [tmp_mount],
                        }
                    ],
                    "volumes": [tmp_volume],
                },
            },
        },
    }


def router_service(namespace: str, stack: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": ROUTER, "namespace": namespace, "labels": router_labels(stack)},
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(ROUTER),
            "ports": [{"name": "http", "port": APP_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def router_disruption_budget(namespace: str, stack: str) -> dict[str, Any]:
    return disruption_budget(ROUTER, namespace, router_labels(stack), selector_labels(ROUTER))


def router_autoscaler(namespace: str, stack: str, spec: RouterSpec) -> dict[str, Any]:
    """CPU-based: the router's work is proxying bytes, so CPU tracks its load."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": ROUTER, "namespace": namespace, "labels": router_labels(stack)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": ROUTER},
            "minReplicas": spec.min_replicas,
            "maxReplicas": spec.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": spec.cpu_target_percent},
                    },
                }
            ],
        },
    }


def router_url(namespace: str) -> str:
    return f"http://{ROUTER}.{namespace}.svc.cluster.local:{APP_PORT}/v1"
