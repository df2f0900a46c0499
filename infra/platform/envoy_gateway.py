"""Envoy Gateway: the controller's Helm values, the proxies' defaults, and the edge's traffic policies.

Why Envoy Gateway: ingress-nginx was retired by Kubernetes SIG Network in March 2026 (no releases, no security fixes),
and the cloud controllers split the edge in two (ALB wants ACM certificates, GKE's Gateway its own policies). Envoy
Gateway implements standard Gateway API on both clouds, is maintained by the Envoy project, and Envoy forwards
response bytes as they arrive (no response buffering), so SSE tokens reach the customer one by one.

Its own policy kinds (ClientTrafficPolicy, BackendTrafficPolicy) have no schema in the shared CRD catalog the render
is validated against, so they travel as Helm values of a release of the ``raw`` chart (recorded in the render's
``helm/`` folder and asserted there) instead of as custom resources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from infra.cluster import POOL_LABEL, SYSTEM_POOL
from infra.k8s.labels import KUBE_API_ACCESS
from infra.platform.charts import ENVOY_GATEWAY_IMAGE, ENVOY_PROXY_IMAGE
from infra.platform.gateway_api import CHAT_ROUTE, GROUP, EdgeAttachment, duration
from infra.platform.network_baseline import ENVOY_PROXY

POLICY_API_VERSION = "gateway.envoyproxy.io/v1alpha1"
#: TLS 1.2 is the floor (1.0/1.1 are deprecated by RFC 8996); 1.3 is negotiated whenever the client offers it.
TLS_MIN_VERSION = "1.2"
#: Time to receive a whole request (headers and body) from the client: slow-loris protection. Streams are responses,
#: so this does not limit them.
REQUEST_RECEIVED_TIMEOUT_SECONDS = 30
#: A stream with no byte either way for this long is dead (vLLM emits a chunk per token; queueing before the first
#: token is bounded by the gateway's own limits far below this).
STREAM_IDLE_TIMEOUT_SECONDS = 300
#: Keep-alive connections with no request in flight are closed after this.
CONNECTION_IDLE_TIMEOUT_SECONDS = 900
#: On a rollout Envoy keeps serving open streams this long before it exits.
MIN_DRAIN_SECONDS = 10
#: The proxies scale out on CPU above this utilisation, up to this many times their floor.
HPA_CPU_UTILIZATION = 70
HPA_MAX_FACTOR = 3
ZONE_KEY = "topology.kubernetes.io/zone"
HOST_KEY = "kubernetes.io/hostname"


def _spread(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """Spread replicas over zones first, then nodes; never refuse to schedule for it (dev has one zone)."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(labels)},
        }
        for key in (ZONE_KEY, HOST_KEY)
    ]


def _pdb(replicas: int) -> dict[str, Any] | None:
    """One replica must stay up during drains, but only when there are two: a PDB on one replica blocks node drains."""
    return {"minAvailable": 1} if replicas >= 2 else None


def envoy_proxy_defaults(replicas: int, stream_timeout_seconds: int) -> dict[str, Any]:
    """The EnvoyProxy spec every proxy fleet starts from: pinned image, HA, placement, graceful draining."""
    kubernetes: dict[str, Any] = {
        "envoyDeployment": {
            "replicas": replicas,
            "pod": {
                "nodeSelector": {POOL_LABEL: SYSTEM_POOL},
                "topologySpreadConstraints": _spread(ENVOY_PROXY),
            },
            "container": {
                "image": ENVOY_PROXY_IMAGE.reference,
                "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
            },
        },
        # Local keeps the client's source address (access logs, abuse limits) and skips a second node hop.
        "envoyService": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"},
        "envoyHpa": {
            "minReplicas": replicas,
            "maxReplicas": replicas * HPA_MAX_FACTOR,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": HPA_CPU_UTILIZATION},
                    },
                }
            ],
        },
    }
    pdb = _pdb(replicas)
    if pdb is not None:
        kubernetes["envoyPDB"] = pdb
    return {
        "provider": {"type": "Kubernetes", "kubernetes": kubernetes},
        # Streams in flight when a proxy is replaced get up to the stream timeout to finish.
        "shutdown": {"drainTimeout": duration(stream_timeout_seconds), "minDrainDuration": duration(MIN_DRAIN_SECONDS)},
    }


def envoy_gateway_values(
    watched_namespaces: Sequence[str], controller_replicas: int, proxy_defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """Helm values of the controller: pinned images, namespaced watch (and so namespaced RBAC), placement, HA."""
    system_nodes = {POOL_LABEL: SYSTEM_POOL}
    values: dict[str, Any] = {
        "global": {
            "images": {
                "envoyGateway": {"image": ENVOY_GATEWAY_IMAGE.reference, "pullPolicy": "IfNotPresent"},
                "envoyProxy": {"image": ENVOY_PROXY_IMAGE.reference, "pullPolicy": "IfNotPresent"},
            }
        },
        "deployment": {
            "replicas": controller_replicas,
            "pod": {
                "labels": dict(KUBE_API_ACCESS),
                "nodeSelector": system_nodes,
                "topologySpreadConstraints": _spread({"control-plane": "envoy-gateway"}),
            },
        },
        "podDisruptionBudget": _pdb(controller_replicas) or {"minAvailable": 0},
        "certgen": {"job": {"pod": {"labels": dict(KUBE_API_ACCESS)}, "nodeSelector": system_nodes}},
        # The topology injector is a mutating webhook on pod bindings; zone-aware routing is not worth that here.
        "topologyInjector": {"enabled": False},
        "config": {
            "envoyGateway": {
                "gateway": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
                "provider": {
                    "type": "Kubernetes",
                    "kubernetes": {"watch": {"type": "Namespaces", "namespaces": list(watched_namespaces)}},
                },
                "logging": {"level": {"default": "info"}},
                "envoyProxy": dict(proxy_defaults),
            }
        },
    }
    return values


def _target(kind: str, name: str) -> list[dict[str, str]]:
    return [{"group": GROUP, "kind": kind, "name": name}]


def client_traffic_policy(attachment: EdgeAttachment, labels: Mapping[str, str]) -> dict[str, Any]:
    """Downstream (client-facing) settings of the whole Gateway: TLS floor, ALPN, client timeouts."""
    return {
        "apiVersion": POLICY_API_VERSION,
        "kind": "ClientTrafficPolicy",
        "metadata": {"name": "edge-clients", "namespace": attachment.gateway_namespace, "labels": dict(labels)},
        "spec": {
            "targetRefs": _target("Gateway", attachment.gateway_name),
            "tls": {"minVersion": TLS_MIN_VERSION, "alpnProtocols": ["h2", "http/1.1"]},
            "timeout": {
                "http": {
                    "requestReceivedTimeout": duration(REQUEST_RECEIVED_TIMEOUT_SECONDS),
                    "idleTimeout": duration(CONNECTION_IDLE_TIMEOUT_SECONDS),
                    "streamIdleTimeout": duration(STREAM_IDLE_TIMEOUT_SECONDS),
                }
            },
        },
    }


def backend_traffic_policy(
    attachment: EdgeAttachment, body_limit_kib: int, labels: Mapping[str, str]
) -> dict[str, Any]:
    """The body-size limit of the chat route: Envoy buffers the *request* (never the response) and answers 413 above it."""
    return {
        "apiVersion": POLICY_API_VERSION,
        "kind": "BackendTrafficPolicy",
        "metadata": {"name": CHAT_ROUTE, "namespace": attachment.backend.namespace, "labels": dict(labels)},
        "spec": {"targetRefs": _target("HTTPRoute", CHAT_ROUTE), "requestBuffer": {"limit": f"{body_limit_kib}Ki"}},
    }


def edge_policy_values(attachment: EdgeAttachment, body_limit_kib: int, labels: Mapping[str, str]) -> dict[str, Any]:
    """Values of the ``raw`` chart release that carries the Envoy Gateway policies."""
    return {
        "resources": [
            client_traffic_policy(attachment, labels),
            backend_traffic_policy(attachment, body_limit_kib, labels),
        ]
    }
