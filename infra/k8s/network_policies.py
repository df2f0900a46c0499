"""NetworkPolicy builders: default deny, then narrow allows named after who talks to whom.

Ownership: the platform writes each namespace's default deny and the namespace-wide allows (DNS, Prometheus
scrapes, the ingress controller to the gateway); each workload component writes the allows for its own
traffic (the engine's callers, the services' calls to each other and to the data tier).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from infra.k8s.labels import NAMESPACE_NAME_LABEL

Direction = Literal["Ingress", "Egress"]


def peer(namespace: str | None = None, pod_labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A policy peer: pods matching ``pod_labels`` in ``namespace`` (either may be omitted, not both)."""
    if namespace is None and pod_labels is None:
        raise ValueError("a peer needs a namespace, pod labels, or both")
    result: dict[str, Any] = {}
    if namespace is not None:
        result["namespaceSelector"] = {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}
    if pod_labels is not None:
        result["podSelector"] = {"matchLabels": dict(pod_labels)}
    return result


def ports(*numbers: int, protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": number} for number in numbers]


def network_policy(
    name: str,
    namespace: str,
    *,
    pod_labels: Mapping[str, str] | None,
    ingress: Sequence[Mapping[str, Any]] | None = None,
    egress: Sequence[Mapping[str, Any]] | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A NetworkPolicy object; ``pod_labels=None`` selects every pod in the namespace.

    Passing ``ingress=[]`` declares the Ingress policy type with no rule (deny all ingress); leaving it None
    does not mention ingress at all. Same for egress.
    """
    spec: dict[str, Any] = {"podSelector": {"matchLabels": dict(pod_labels)} if pod_labels else {}}
    types: list[Direction] = []
    if ingress is not None:
        types.append("Ingress")
        spec["ingress"] = [dict(rule) for rule in ingress]
    if egress is not None:
        types.append("Egress")
        spec["egress"] = [dict(rule) for rule in egress]
    if not types:
        raise ValueError(f"network policy {namespace}/{name} declares neither ingress nor egress")
    spec["policyTypes"] = types
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = dict(labels)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata, "spec": spec}


def default_deny(namespace: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Deny all ingress and egress for every pod in the namespace; allows are added on top."""
    return network_policy("default-deny", namespace, pod_labels=None, ingress=[], egress=[], labels=labels)


def ip_block(cidr: str, excluded: Sequence[str] = ()) -> dict[str, Any]:
    """A policy peer by address: for what has no pod labels (the API server, node IPs, the internet)."""
    block: dict[str, Any] = {"cidr": cidr}
    if excluded:
        block["except"] = list(excluded)
    return {"ipBlock": block}


def allow_from(
    sources: Sequence[Mapping[str, Any]], port_numbers: Sequence[int], *, protocol: str = "TCP"
) -> dict[str, Any]:
    """An ingress rule: from any of ``sources`` to ``port_numbers``."""
    return {"from": [dict(s) for s in sources], "ports": ports(*port_numbers, protocol=protocol)}


def allow_to(
    destinations: Sequence[Mapping[str, Any]], port_numbers: Sequence[int], *, protocol: str = "TCP"
) -> dict[str, Any]:
    """An egress rule: to any of ``destinations`` on ``port_numbers``."""
    return {"to": [dict(d) for d in destinations], "ports": ports(*port_numbers, protocol=protocol)}
