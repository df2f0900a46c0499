"""ResourceQuota and LimitRange per namespace: a runaway workload cannot starve the others or grab a GPU.

Quotas bound the sum of *requests* (what the scheduler reserves). Limits are left to each workload: a quota on limits
would reject every chart pod that sets none, and a LimitRange default limit below a chart's own request makes the pod
inadmissible, both failures that only show at runtime. The LimitRange gives containers that declare nothing a modest
request, which is also what makes the request quota admissible for them. Load balancers and node ports are quota'd to zero outside the ingress namespace, so the
edge stays the only way in even if someone applies a Service by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GPU_RESOURCE = "nvidia.com/gpu"
#: What a container that declares nothing gets.
DEFAULT_CPU_REQUEST = "100m"
DEFAULT_MEMORY_REQUEST = "128Mi"


@dataclass(frozen=True)
class QuotaSize:
    """The requests one namespace may hold in total."""

    cpu: int
    memory_gi: int
    gpus: int = 0
    load_balancers: int = 0


def resource_quota(namespace: str, size: QuotaSize, labels: Mapping[str, str]) -> dict[str, Any]:
    hard = {
        "requests.cpu": str(size.cpu),
        "requests.memory": f"{size.memory_gi}Gi",
        f"requests.{GPU_RESOURCE}": str(size.gpus),
        "services.loadbalancers": str(size.load_balancers),
    }
    if size.load_balancers == 0:
        hard["services.nodeports"] = "0"
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "namespace-quota", "namespace": namespace, "labels": dict(labels)},
        "spec": {"hard": hard},
    }


def limit_range(namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "container-defaults", "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "defaultRequest": {"cpu": DEFAULT_CPU_REQUEST, "memory": DEFAULT_MEMORY_REQUEST},
                }
            ]
        },
    }
