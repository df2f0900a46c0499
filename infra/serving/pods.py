"""Pod fragments the engine, router and loader share: probes, scratch volumes, spreading, disruption budgets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.cluster import POOL_LABEL, SYSTEM_POOL

ZONE_KEY = "topology.kubernetes.io/zone"
HOSTNAME_KEY = "kubernetes.io/hostname"
#: Time for the router and kube-proxy to see a terminating endpoint before the process stops accepting.
PRE_STOP_DELAY_SECONDS = 10
#: Where pods without a GPU run: the system pool (GPU nodes are tainted, this makes the intent explicit).
SYSTEM_NODE_SELECTOR = {POOL_LABEL: SYSTEM_POOL}


def http_probe(path: str, *, period: int, failure_threshold: int, timeout: int = 5) -> dict[str, Any]:
    """An HTTP GET probe on the container's port named ``http``."""
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failure_threshold,
    }


def scratch_volume(
    name: str, mount_path: str, size: str, *, memory: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(volume, mount) of a size-limited emptyDir: writable space beside a read-only root filesystem."""
    empty_dir: dict[str, Any] = {"sizeLimit": size}
    if memory:
        empty_dir["medium"] = "Memory"
    return {"name": name, "emptyDir": empty_dir}, {"name": name, "mountPath": mount_path}


def spread_constraints(selector: Mapping[str, str], *, across_zones: bool) -> list[dict[str, Any]]:
    """Replicas on different nodes when possible; in prod also evenly across zones, strictly.

    Zone spreading is ``DoNotSchedule`` so a zone outage can never take most replicas with it; the cluster
    autoscaler adds a node in the short zone rather than the scheduler piling replicas into one.
    """
    constraints = [
        {
            "maxSkew": 1,
            "topologyKey": HOSTNAME_KEY,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(selector)},
        }
    ]
    if across_zones:
        constraints.append(
            {
                "maxSkew": 1,
                "topologyKey": ZONE_KEY,
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": dict(selector)},
            }
        )
    return constraints


def pre_stop_sleep() -> dict[str, Any]:
    """Keep serving for a moment after the endpoint is withdrawn (no shell needed: the kubelet sleeps)."""
    return {"preStop": {"sleep": {"seconds": PRE_STOP_DELAY_SECONDS}}}


def disruption_budget(
    name: str, namespace: str, labels: Mapping[str, str], selector: Mapping[str, str]
) -> dict[str, Any]:
    """At most one replica down through voluntary disruptions (drains, upgrades).

    ``AlwaysAllow`` lets a drain evict replicas that are not ready anyway (a crash-looping or still-loading
    engine must not block a node upgrade).
    """
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": dict(selector)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }
