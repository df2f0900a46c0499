"""Reading Kubernetes objects as CrossGuard sees them: pod specs inside workloads, and their containers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from infra.policy.model import Resource, is_unknown, items, lookup, mapping

#: Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
#: Workloads that keep running (and so need probes); Jobs run to completion.
LONG_RUNNING = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
#: CloudNativePG's Postgres cluster (the in-cluster database in dev): the operator creates its pods and volumes.
CNPG_CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster"


def pod_spec(resource: Resource) -> Mapping[str, Any] | None:
    """The pod spec of a workload object, or None for anything else."""
    if not resource.is_kubernetes or resource.kind not in POD_SPEC_PATHS:
        return None
    spec = lookup(resource.props, *POD_SPEC_PATHS[resource.kind])
    return spec if isinstance(spec, Mapping) else None


def containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(list name, container) for every container of the pod: init, regular and ephemeral."""
    for list_name in CONTAINER_LISTS:
        for container in items(spec.get(list_name)):
            if isinstance(container, Mapping):
                yield list_name, container


def container_label(list_name: str, container: Mapping[str, Any]) -> str:
    kind = {"initContainers": "init container", "ephemeralContainers": "ephemeral container"}.get(
        list_name, "container"
    )
    return f"{kind} {container.get('name', '?')!r}"


def command_line(container: Mapping[str, Any]) -> list[str]:
    """command + args as strings (unknown parts dropped)."""
    words = [*items(container.get("command")), *items(container.get("args"))]
    return [str(word) for word in words if not is_unknown(word)]


def labels(resource: Resource) -> Mapping[str, Any]:
    return mapping(lookup(resource.props, "metadata", "labels"))
