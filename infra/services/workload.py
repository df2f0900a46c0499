"""Every Kubernetes object of one service, as plain data built from its ``ServiceSpec``.

Deployment (probes, resources, restricted security, read-only root filesystem, zone spread in prod, drain on
stop), Service (port ``http``, the label set the monitoring stage's ServiceMonitor selects), HorizontalPodAutoscaler,
PodDisruptionBudget, ServiceAccount, and for a service with a schema its migration Job. Pure functions: tested
against the Kubernetes schemas without Pulumi.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from infra.k8s.labels import selector_labels, standard_labels
from infra.k8s.objects import service_account as service_account_object
from infra.k8s.security import restricted_container_security_context, restricted_pod_security_context
from infra.services.spec import HTTP_PORT, PORT_NAME, ServiceSpec
from infra.serving.pods import (
    PRE_STOP_DELAY_SECONDS,
    SYSTEM_NODE_SELECTOR,
    disruption_budget,
    http_probe,
    pre_stop_sleep,
    scratch_volume,
    spread_constraints,
)

#: Seconds after the drain before the kubelet's SIGKILL: logs flushed, connections closed.
EXIT_MARGIN_SECONDS = 5
#: A migration that takes longer than this is stuck (a lock held elsewhere); the Job fails and the rollout stops.
MIGRATION_DEADLINE_SECONDS = 900
ROLLOUT_ANNOTATION = "helpline.io/credentials-version"
#: Where a service's secret settings are mounted: one file per setting, named like its variable, which
#: ``app.core.settings`` reads from the directory ``HELPLINE_SECRETS_DIR`` names (never environment variables:
#: those show in ``/proc/<pid>/environ``, crash dumps and anything that prints the environment).
SECRETS_DIR = "/etc/helpline/secrets"
SECRETS_DIR_VARIABLE = "HELPLINE_SECRETS_DIR"
SECRETS_VOLUME = "secrets"
#: Owner root, group the pod's fsGroup: the service's user reads them through its group, nobody can write them.
SECRET_FILE_MODE = 0o440


def service_labels(spec: ServiceSpec, stack: str) -> dict[str, str]:
    return standard_labels(spec.name, spec.component, stack)


def migration_labels(spec: ServiceSpec, stack: str) -> dict[str, str]:
    return standard_labels(spec.migration_name, "migration", stack)


def termination_grace_seconds(spec: ServiceSpec) -> int:
    """The pre-stop delay (endpoints withdrawn), the drain (open streams finish), then a margin to exit."""
    return PRE_STOP_DELAY_SECONDS + spec.drain_seconds + EXIT_MARGIN_SECONDS


def container_env(spec: ServiceSpec) -> list[dict[str, Any]]:
    """Plain settings by value, where the secret settings are mounted, then where the trusted CAs are."""
    plain = [{"name": name, "value": value} for name, value in sorted(spec.env.items())]
    secrets = [{"name": SECRETS_DIR_VARIABLE, "value": SECRETS_DIR}] if spec.secrets else []
    ca = [variable for bundle in spec.ca_bundles for variable in bundle.env()]
    return [*plain, *secrets, *ca]


def secrets_volume(spec: ServiceSpec) -> dict[str, Any]:
    """Every Secret key the service reads, projected into one read-only directory as files named like the variables."""
    items: dict[str, list[dict[str, str]]] = {}
    for variable, reference in sorted(spec.secrets.items()):
        items.setdefault(reference.name, []).append({"key": reference.key, "path": variable})
    return {
        "name": SECRETS_VOLUME,
        "projected": {
            "defaultMode": SECRET_FILE_MODE,
            "sources": [{"secret": {"name": name, "items": keys}} for name, keys in sorted(items.items())],
        },
    }


def _volumes(spec: ServiceSpec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, mounts): a small /tmp beside the read-only root, the secret settings, and the CA bundles."""
    tmp_volume, tmp_mount = scratch_volume("tmp", "/tmp", "64Mi")  # noqa: S108  (a private emptyDir)
    volumes = [tmp_volume, *(bundle.volume() for bundle in spec.ca_bundles)]
    mounts = [tmp_mount, *(bundle.volume_mount() for bundle in spec.ca_bundles)]
    if spec.secrets:
        volumes.append(secrets_volume(spec))
        mounts.append({"name": SECRETS_VOLUME, "mountPath": SECRETS_DIR, "readOnly": True})
    return volumes, mounts


def _pod_spec(spec: ServiceSpec, image: str, command: list[str], **extra: Any) -> dict[str, Any]:
    volumes, mounts = _volumes(spec)
    container: dict[str, Any] = {
        "name": spec.name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": container_env(spec),
        "resources": spec.resources.as_dict(),
        "securityContext": restricted_container_security_context(),
        "volumeMounts": mounts,
    }
    container.update(extra.pop("container", {}))
    return {
        "serviceAccountName": spec.name,
        # The services never call the Kubernetes API.
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": restricted_pod_security_context(),
        "nodeSelector": dict(SYSTEM_NODE_SELECTOR),
        "containers": [container],
        "volumes": volumes,
        **extra,
    }


def deployment(
    spec: ServiceSpec,
    *,
    namespace: str,
    stack: str,
    image: str,
    spread_across_zones: bool,
    rollout_annotations: Mapping[str, str],
) -> dict[str, Any]:
    """No ``replicas``: the HPA owns the count (Pulumi would reset it on every ``up`` otherwise).

    ``rollout_annotations`` change the pod template when something the pods read at start changes without a
    change to the spec (a rotated credential in a Secret), so the Deployment rolls onto it.
    """
    labels = service_labels(spec, stack)
    selector = selector_labels(spec.name)
    pod = _pod_spec(
        spec,
        image,
        spec.command,
        terminationGracePeriodSeconds=termination_grace_seconds(spec),
        topologySpreadConstraints=spread_constraints(selector, across_zones=spread_across_zones),
        container={
            "ports": [{"name": PORT_NAME, "containerPort": HTTP_PORT, "protocol": "TCP"}],
            "startupProbe": http_probe("/healthz", period=2, failure_threshold=30, timeout=2),
            "readinessProbe": http_probe("/readyz", period=5, failure_threshold=2, timeout=3),
            "livenessProbe": http_probe("/healthz", period=10, failure_threshold=3, timeout=3),
            "lifecycle": pre_stop_sleep(),
        },
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": spec.name, "namespace": namespace, "labels": labels},
        "spec": {
            "selector": {"matchLabels": selector},
            "revisionHistoryLimit": 5,
            "progressDeadlineSeconds": 600,
            # A new pod is ready before an old one stops: no capacity lost during a rollout.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {
                "metadata": {
                    "labels": {**labels, **spec.access_labels},
                    "annotations": {"kubectl.kubernetes.io/default-container": spec.name, **rollout_annotations},
                },
                "spec": pod,
            },
        },
    }


def service(spec: ServiceSpec, *, namespace: str, stack: str) -> dict[str, Any]:
    """ClusterIP on 8080, port named ``http``: callers, the edge route and the ServiceMonitor all use it."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": spec.name, "namespace": namespace, "labels": service_labels(spec, stack)},
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(spec.name),
            "ports": [{"name": PORT_NAME, "port": HTTP_PORT, "targetPort": PORT_NAME, "protocol": "TCP"}],
        },
    }


def autoscaler(spec: ServiceSpec, *, namespace: str, stack: str) -> dict[str, Any]:
    """CPU-based: the services' work is CPU (JSON, hashing, proxying); scale up fast, down after 5 quiet minutes."""
    replicas = spec.replicas
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": spec.name, "namespace": namespace, "labels": service_labels(spec, stack)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
            "minReplicas": replicas.minimum,
            "maxReplicas": replicas.maximum,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": replicas.cpu_target_percent},
                    },
                }
            ],
            "behavior": {
                "scaleUp": {
                    "stabilizationWindowSeconds": 0,
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30}],
                },
                "scaleDown": {
                    "stabilizationWindowSeconds": 300,
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                },
            },
        },
    }


def pod_disruption_budget(spec: ServiceSpec, *, namespace: str, stack: str) -> dict[str, Any]:
    return disruption_budget(spec.name, namespace, service_labels(spec, stack), selector_labels(spec.name))


def service_account(spec: ServiceSpec, *, namespace: str, stack: str) -> dict[str, Any]:
    """One identity per service (nothing is granted to it; it keeps the pods off the namespace's default)."""
    return service_account_object(spec.name, namespace, service_labels(spec, stack), automount=False)


def migration_job_name(spec: ServiceSpec, image: str) -> str:
    """``<service>-migrate-<hash>``: a new image (digest) is a new Job, so every release migrates first."""
    digest = hashlib.sha256(f"{image}|{' '.join(spec.migration_command)}".encode()).hexdigest()[:10]
    return f"{spec.migration_name}-{digest}"


def migration_job(spec: ServiceSpec, *, namespace: str, stack: str, image: str) -> dict[str, Any]:
    """``python -m app.<service> migrate`` with the service's own settings and role, once per release.

    Concurrent runs are safe (the migration takes an advisory lock per schema). No ``ttlSecondsAfterFinished``:
    Pulumi would recreate a Job the cluster deleted.
    """
    if not spec.migrates:
        raise ValueError(f"{spec.name} owns no schema: it has no migration")
    labels = migration_labels(spec, stack)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": migration_job_name(spec, image), "namespace": namespace, "labels": labels},
        "spec": {
            "backoffLimit": 3,
            "activeDeadlineSeconds": MIGRATION_DEADLINE_SECONDS,
            "template": {
                "metadata": {"labels": {**labels, **spec.access_labels}},
                "spec": _pod_spec(spec, image, spec.migration_command, restartPolicy="Never"),
            },
        },
    }
