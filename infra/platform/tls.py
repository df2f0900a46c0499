"""TLS at the edge: cert-manager, Let's Encrypt issuers solving HTTP-01 through the Gateway, the edge certificate.

Both ACME issuers exist in every stack (switching is one config key, ``acmeIssuer``); the certificate uses staging in
dev (untrusted, but generous rate limits while stacks come and go) and production in prod.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from infra.cluster import POOL_LABEL, SYSTEM_POOL
from infra.k8s.labels import KUBE_API_ACCESS
from infra.platform.charts import CERT_MANAGER_IMAGES
from infra.platform.gateway_api import GROUP, HTTP_LISTENER, EdgeAttachment

AcmeEnvironment = Literal["staging", "production"]
ACME_SERVERS: dict[AcmeEnvironment, str] = {
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "production": "https://acme-v02.api.letsencrypt.org/directory",
}
API_VERSION = "cert-manager.io/v1"
#: Let's Encrypt certificates last 90 days; renew with a month to spare so a failing renewal pages well before expiry.
RENEW_BEFORE = "720h"


def issuer_name(environment: AcmeEnvironment) -> str:
    return f"letsencrypt-{environment}"


def _image(component: str) -> dict[str, str]:
    image = CERT_MANAGER_IMAGES[component]
    return {"repository": image.repository, "tag": image.tag, "digest": image.digest}


#: The chart sets no resources. Requests near each component's idle working set on a cluster of our size, and a
#: memory limit with room for the certificate and secret caches to grow (the controller and cainjector cache every
#: Certificate and Secret they watch); no CPU limit (throttling a webhook times out API calls).
CERT_MANAGER_RESOURCES: dict[str, dict[str, dict[str, str]]] = {
    "controller": {"requests": {"cpu": "50m", "memory": "96Mi"}, "limits": {"memory": "256Mi"}},
    "webhook": {"requests": {"cpu": "20m", "memory": "48Mi"}, "limits": {"memory": "128Mi"}},
    "cainjector": {"requests": {"cpu": "50m", "memory": "96Mi"}, "limits": {"memory": "256Mi"}},
    "startupapicheck": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
}


def cert_manager_values(replicas: int) -> dict[str, Any]:
    """Helm values: CRDs kept on uninstall, Gateway API support on, images by digest, HA in prod, API-access labels.

    Metrics stay on (port 9402) but the chart's ServiceMonitor is off: ServiceMonitors belong to the monitoring stage.
    """
    system_nodes = {POOL_LABEL: SYSTEM_POOL}
    api_access = dict(KUBE_API_ACCESS)
    pdb = {"enabled": replicas >= 2, "minAvailable": 1}

    def component(name: str) -> dict[str, Any]:
        return {
            "image": _image(name),
            "podLabels": api_access,
            "nodeSelector": system_nodes,
            "resources": dict(CERT_MANAGER_RESOURCES[name]),
        }

    return {
        "crds": {"enabled": True, "keep": True},
        "replicaCount": replicas,
        "podDisruptionBudget": pdb,
        **component("controller"),
        "config": {
            "apiVersion": "controller.config.cert-manager.io/v1alpha1",
            "kind": "ControllerConfiguration",
            "enableGatewayAPI": True,
        },
        "webhook": {**component("webhook"), "replicaCount": replicas, "podDisruptionBudget": pdb},
        "cainjector": {**component("cainjector"), "replicaCount": replicas, "podDisruptionBudget": pdb},
        "startupapicheck": component("startupapicheck"),
        "acmesolver": {"image": _image("acmesolver")},
        "prometheus": {"enabled": True, "servicemonitor": {"enabled": False}},
    }


def cluster_issuer(
    environment: AcmeEnvironment, email: str, attachment: EdgeAttachment, labels: Mapping[str, str]
) -> dict[str, Any]:
    """An ACME ClusterIssuer whose HTTP-01 challenges are served through the edge Gateway's HTTP listener."""
    name = issuer_name(environment)
    parent = {
        "group": GROUP,
        "kind": "Gateway",
        "name": attachment.gateway_name,
        "namespace": attachment.gateway_namespace,
        "sectionName": HTTP_LISTENER,
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterIssuer",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "acme": {
                "server": ACME_SERVERS[environment],
                "email": email,
                "privateKeySecretRef": {"name": f"{name}-account"},
                "solvers": [{"http01": {"gatewayHTTPRoute": {"parentRefs": [parent]}}}],
            }
        },
    }


def edge_certificate(attachment: EdgeAttachment, labels: Mapping[str, str]) -> dict[str, Any]:
    """The edge certificate: ECDSA P-256, a fresh key on every renewal, stored where the Gateway listener reads it."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Certificate",
        "metadata": {
            "name": attachment.tls_secret_name.removesuffix("-tls"),
            "namespace": attachment.gateway_namespace,
            "labels": dict(labels),
        },
        "spec": {
            "secretName": attachment.tls_secret_name,
            "dnsNames": [attachment.hostname],
            "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": attachment.cluster_issuer},
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            "renewBefore": RENEW_BEFORE,
        },
    }
