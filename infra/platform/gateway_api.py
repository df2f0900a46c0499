"""The edge as core Gateway API objects: the class, the Gateway with its listeners, and the public routes.

Everything here is standard Gateway API (validated against its published schemas), so the edge reads the same whatever
implements it; Envoy-Gateway-specific tuning lives in infra/platform/envoy_gateway.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.contracts.edge import PUBLIC_PATH_PREFIXES
from infra.k8s.labels import NAMESPACE_NAME_LABEL

GROUP = "gateway.networking.k8s.io"
API_VERSION = f"{GROUP}/v1"
ENVOY_GATEWAY_CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
GATEWAY_NAME = "edge"
HTTP_LISTENER = "http"
HTTPS_LISTENER = "https"
CHAT_ROUTE = "chat-api"
REDIRECT_ROUTE = "https-redirect"
#: One year, subdomains included; no ``preload`` (that is a commitment the domain owner makes, not this stack).
HSTS = "max-age=31536000; includeSubDomains"


@dataclass(frozen=True)
class ServiceRef:
    """A Service by namespace, name and port: what a route sends traffic to."""

    namespace: str
    name: str
    port: int


@dataclass(frozen=True)
class EdgeAttachment:
    """What the services stage needs to sit behind the edge, and what the edge expects of it.

    The platform declares the public route (``chat_route``) to ``backend``: the services stage must create a Service
    with exactly that namespace, name and port. Anything else that wants to be public attaches an HTTPRoute to
    ``gateway_name``/``gateway_namespace`` on ``https_listener`` from the app namespace (the only one allowed).
    """

    gateway_class: str
    gateway_name: str
    gateway_namespace: str
    https_listener: str
    hostname: str
    backend: ServiceRef
    #: the Secret (in the gateway's namespace) cert-manager keeps the edge certificate in: ``<route>-tls``
    tls_secret_name: str
    cluster_issuer: str


def tls_secret_name(route: str) -> str:
    """Naming convention for certificate Secrets at the edge."""
    return f"{route}-tls"


def duration(seconds: int) -> str:
    """Gateway API duration (``600s``)."""
    return f"{seconds}s"


def gateway_class(name: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "GatewayClass",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "controllerName": ENVOY_GATEWAY_CONTROLLER_NAME,
            "description": "Helpline public edge: Envoy behind the cloud load balancer",
        },
    }


def gateway(
    attachment: EdgeAttachment, app_namespace: str, lb_annotations: Mapping[str, str], labels: Mapping[str, str]
) -> dict[str, Any]:
    """HTTP (redirects and ACME challenges, same namespace only) and HTTPS (routes from the app namespace only).

    ``spec.infrastructure.annotations`` reach the LoadBalancer Service the implementation creates for this Gateway:
    that is where the cloud's load balancer annotations go.
    """
    hostname = attachment.hostname
    https_routes = {
        "namespaces": {"from": "Selector", "selector": {"matchLabels": {NAMESPACE_NAME_LABEL: app_namespace}}},
        "kinds": [{"group": GROUP, "kind": "HTTPRoute"}],
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "Gateway",
        "metadata": {
            "name": attachment.gateway_name,
            "namespace": attachment.gateway_namespace,
            "labels": dict(labels),
        },
        "spec": {
            "gatewayClassName": attachment.gateway_class,
            "infrastructure": {"annotations": dict(lb_annotations)},
            "listeners": [
                {
                    "name": HTTP_LISTENER,
                    "protocol": "HTTP",
                    "port": 80,
                    "hostname": hostname,
                    "allowedRoutes": {"namespaces": {"from": "Same"}},
                },
                {
                    "name": attachment.https_listener,
                    "protocol": "HTTPS",
                    "port": 443,
                    "hostname": hostname,
                    "tls": {
                        "mode": "Terminate",
                        "certificateRefs": [{"group": "", "kind": "Secret", "name": attachment.tls_secret_name}],
                    },
                    "allowedRoutes": https_routes,
                },
            ],
        },
    }


def _parent(attachment: EdgeAttachment, listener: str) -> dict[str, Any]:
    return {
        "group": GROUP,
        "kind": "Gateway",
        "name": attachment.gateway_name,
        "namespace": attachment.gateway_namespace,
        "sectionName": listener,
    }


def redirect_route(attachment: EdgeAttachment, labels: Mapping[str, str]) -> dict[str, Any]:
    """Plain HTTP answers only with a permanent redirect to HTTPS (ACME challenges match longer paths first)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "HTTPRoute",
        "metadata": {"name": REDIRECT_ROUTE, "namespace": attachment.gateway_namespace, "labels": dict(labels)},
        "spec": {
            "parentRefs": [_parent(attachment, HTTP_LISTENER)],
            "hostnames": [attachment.hostname],
            "rules": [
                {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
            ],
        },
    }


def chat_route(attachment: EdgeAttachment, stream_timeout_seconds: int, labels: Mapping[str, str]) -> dict[str, Any]:
    """HTTPS to the gateway Service, with HSTS on every response and a request timeout long enough for a stream.

    Only the public prefixes are routed (``app.contracts.edge``): the gateway's ``/metrics`` and probes answer on
    the same port but are not reachable from the internet (Envoy answers 404). The route lives in the app
    namespace, beside the Service it targets (no cross-namespace grant needed).
    """
    backend = attachment.backend
    timeout = duration(stream_timeout_seconds)
    return {
        "apiVersion": API_VERSION,
        "kind": "HTTPRoute",
        "metadata": {"name": CHAT_ROUTE, "namespace": backend.namespace, "labels": dict(labels)},
        "spec": {
            "parentRefs": [_parent(attachment, attachment.https_listener)],
            "hostnames": [attachment.hostname],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": prefix}} for prefix in PUBLIC_PATH_PREFIXES],
                    "filters": [
                        {
                            "type": "ResponseHeaderModifier",
                            "responseHeaderModifier": {"set": [{"name": "Strict-Transport-Security", "value": HSTS}]},
                        }
                    ],
                    "backendRefs": [{"group": "", "kind": "Service", "name": backend.name, "port": backend.port}],
                    "timeouts": {"request": timeout, "backendRequest": timeout},
                }
            ],
        },
    }
