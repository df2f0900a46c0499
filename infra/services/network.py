"""Who may call each service and what each may call: one NetworkPolicy per service, one per migration Job.

The platform wrote the app namespace's default deny, DNS, the Prometheus scrape of 8080, and the edge's
``allow-edge-to-gateway`` (Envoy -> gateway:8080); so the gateway's policy restricts only its egress. The rest
follows the request path: gateway -> auth/sessions/chat, chat -> sessions and the router (serving namespace),
services -> their store (data namespace or the managed endpoints), every service -> the trace collector.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.k8s.labels import selector_labels
from infra.k8s.network_policies import allow_from, allow_to, network_policy, peer
from infra.services.spec import HTTP_PORT, ServiceName, ServiceSpec


def app_service(namespace: str, name: ServiceName) -> dict[str, Any]:
    """The pods of one of our services (never its migration Job: that carries another name)."""
    return peer(namespace, selector_labels(name))


def calls(namespace: str, *names: ServiceName) -> dict[str, Any]:
    """Egress to our services' HTTP port."""
    return allow_to([app_service(namespace, name) for name in names], [HTTP_PORT])


def service_policy(spec: ServiceSpec, namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    ingress = None if spec.callers is None else [allow_from(spec.callers, [HTTP_PORT])]
    return network_policy(
        spec.name,
        namespace,
        pod_labels=selector_labels(spec.name),
        ingress=ingress,
        egress=spec.egress,
        labels=labels,
    )


def migration_policy(
    spec: ServiceSpec, namespace: str, database_egress: Mapping[str, Any], labels: Mapping[str, str]
) -> dict[str, Any]:
    """A migration reaches its database and nothing else, and nothing reaches it."""
    return network_policy(
        spec.migration_name,
        namespace,
        pod_labels={"app.kubernetes.io/name": spec.migration_name},
        ingress=[],
        egress=[database_egress],
        labels=labels,
    )
