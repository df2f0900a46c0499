"""Who may talk to the engines, the router and KEDA: the point-to-point allows this component owns.

The platform writes each namespace's default deny, DNS, Prometheus scrapes and the internet egress of the
model-loader pods; these policies add exactly the serving traffic on top (see infra/k8s/network_policies.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.k8s.labels import COMPONENT_LABEL, NAME_LABEL, PART_OF
from infra.k8s.network_policies import allow_from, allow_to, network_policy, peer
from infra.serving.autoscaling import (
    KEDA_GRPC_PORT,
    KEDA_METRICS_SERVER_LABELS,
    KEDA_METRICS_SERVER_PORT,
    KEDA_OPERATOR_LABELS,
    KEDA_WEBHOOKS_LABELS,
    KEDA_WEBHOOKS_PORT,
)
from infra.serving.engine import ENGINE_COMPONENT
from infra.serving.router import ROUTER
from infra.serving.spec import APP_PORT, ENGINE_PORT

#: Every engine pod, whichever model and engine kind.
ENGINE_SELECTOR = {COMPONENT_LABEL: ENGINE_COMPONENT, "app.kubernetes.io/part-of": PART_OF}
ROUTER_SELECTOR = {NAME_LABEL: ROUTER, "app.kubernetes.io/part-of": PART_OF}
CHAT_SELECTOR = {NAME_LABEL: "chat"}


@dataclass(frozen=True)
class PrometheusRef:
    """Where the in-cluster Prometheus answers queries, and how to select its pods in policies."""

    url: Any
    namespace: str
    pod_labels: Mapping[str, str] = field(default_factory=lambda: {NAME_LABEL: "prometheus"})
    port: int = 9090

    def peer(self) -> dict[str, Any]:
        return peer(self.namespace, self.pod_labels)


def engine_ingress(namespace: str, prometheus: PrometheusRef, labels: Mapping[str, str]) -> dict[str, Any]:
    """The engines accept exactly two callers: the router (every model request goes through it, chat's included) and
    Prometheus; no app pod calls an engine directly."""
    callers = [peer(namespace, ROUTER_SELECTOR), prometheus.peer()]
    return network_policy(
        "engine-callers",
        namespace,
        pod_labels=ENGINE_SELECTOR,
        ingress=[allow_from(callers, [ENGINE_PORT])],
        labels=labels,
    )


def router_ingress(
    namespace: str, app_namespace: str, prometheus: PrometheusRef, labels: Mapping[str, str]
) -> dict[str, Any]:
    return network_policy(
        "router-callers",
        namespace,
        pod_labels=ROUTER_SELECTOR,
        ingress=[allow_from([peer(app_namespace, CHAT_SELECTOR), prometheus.peer()], [APP_PORT])],
        labels=labels,
    )


def router_egress(namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """The router reaches the engines (the platform's API-server egress covers its EndpointSlice watch)."""
    return network_policy(
        "router-to-engines",
        namespace,
        pod_labels=ROUTER_SELECTOR,
        egress=[allow_to([peer(namespace, ENGINE_SELECTOR)], [ENGINE_PORT])],
        labels=labels,
    )


def keda_policies(keda_namespace: str, prometheus: PrometheusRef, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """KEDA's operator queries Prometheus and serves the metrics adapter over gRPC; the API server calls the
    adapter and the webhooks (it is not a pod, so those two ports are open to any source). Prometheus sits behind
    its own namespace's default deny, so the query needs an allow on that side too."""
    return [
        network_policy(
            "allow-keda-queries",
            prometheus.namespace,
            pod_labels=prometheus.pod_labels,
            ingress=[allow_from([peer(keda_namespace, KEDA_OPERATOR_LABELS)], [prometheus.port])],
            labels=labels,
        ),
        network_policy(
            "keda-operator",
            keda_namespace,
            pod_labels=KEDA_OPERATOR_LABELS,
            ingress=[allow_from([peer(keda_namespace, KEDA_METRICS_SERVER_LABELS)], [KEDA_GRPC_PORT])],
            egress=[allow_to([prometheus.peer()], [prometheus.port])],
            labels=labels,
        ),
        network_policy(
            "keda-metrics-apiserver",
            keda_namespace,
            pod_labels=KEDA_METRICS_SERVER_LABELS,
            ingress=[{"ports": [{"protocol": "TCP", "port": KEDA_METRICS_SERVER_PORT}]}],
            egress=[allow_to([peer(keda_namespace, KEDA_OPERATOR_LABELS)], [KEDA_GRPC_PORT])],
            labels=labels,
        ),
        network_policy(
            "keda-admission-webhooks",
            keda_namespace,
            pod_labels=KEDA_WEBHOOKS_LABELS,
            ingress=[{"ports": [{"protocol": "TCP", "port": KEDA_WEBHOOKS_PORT}]}],
            labels=labels,
        ),
    ]
