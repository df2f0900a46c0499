"""A small NetworkPolicy evaluator over a render: may pod A open a connection to pod B on port P?

Kubernetes semantics, restricted to what the stacks use: a pod selected by any policy of a direction is isolated
in that direction and reaches only what some rule of those policies allows; a rule's peers are OR-ed, a peer's
namespace and pod selectors are AND-ed, a peer with only a pod selector means the policy's own namespace, a
rule without peers or without ports matches all of them. Traffic needs the source's egress *and* the
destination's ingress to allow it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.k8s.labels import NAMESPACE_NAME_LABEL


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: Mapping[str, str]

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {NAMESPACE_NAME_LABEL: self.namespace}


_OPERATORS = {
    "In": lambda labels, key, values: labels.get(key) in values,
    "NotIn": lambda labels, key, values: labels.get(key) not in values,
    "Exists": lambda labels, key, _values: key in labels,
    "DoesNotExist": lambda labels, key, _values: key not in labels,
}


def _matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    if selector is None:
        return True
    return selector.get("matchLabels", {}).items() <= labels.items() and all(
        _OPERATORS[e["operator"]](labels, e["key"], e.get("values", [])) for e in selector.get("matchExpressions", [])
    )


def _peer_matches(peer: Mapping[str, Any], policy_namespace: str, pod: Pod) -> bool:
    if "ipBlock" in peer:
        return False  # pod-to-pod paths only; address rules are checked where they are written
    namespace_selector = peer.get("namespaceSelector")
    if namespace_selector is None:
        in_namespace = pod.namespace == policy_namespace
    else:
        in_namespace = _matches(namespace_selector, pod.namespace_labels)
    return in_namespace and _matches(peer.get("podSelector"), pod.labels)


def _rule_allows(rule: Mapping[str, Any], key: str, policy_namespace: str, other: Pod, port: int) -> bool:
    ports = rule.get("ports")
    if ports and not any(p.get("port") == port or p.get("port") is None for p in ports):
        return False
    peers = rule.get(key)
    return not peers or any(_peer_matches(peer, policy_namespace, other) for peer in peers)


def _direction_allows(policies: list[dict[str, Any]], direction: str, subject: Pod, other: Pod, port: int) -> bool:
    """True when ``subject`` is not isolated in ``direction`` or some selecting policy's rule admits ``other``."""
    kind = "Ingress" if direction == "ingress" else "Egress"
    key = "from" if direction == "ingress" else "to"
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == subject.namespace
        and kind in p["spec"].get("policyTypes", [])
        and _matches(p["spec"].get("podSelector"), subject.labels)
    ]
    if not selecting:
        return True
    return any(
        _rule_allows(rule, key, policy["metadata"]["namespace"], other, port)
        for policy in selecting
        for rule in policy["spec"].get(direction, [])
    )


def allowed(policies: list[dict[str, Any]], source: Pod, destination: Pod, port: int) -> bool:
    return _direction_allows(policies, "egress", source, destination, port) and _direction_allows(
        policies, "ingress", destination, source, port
    )


def explain(policies: list[dict[str, Any]], source: Pod, destination: Pod, port: int) -> str:
    egress = _direction_allows(policies, "egress", source, destination, port)
    ingress = _direction_allows(policies, "ingress", destination, source, port)
    sides = [side for side, ok in (("source egress", egress), ("destination ingress", ingress)) if not ok]
    return "allowed" if not sides else "blocked by " + " and ".join(sides)
