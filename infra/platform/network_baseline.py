"""Each namespace's network baseline: deny everything, then the namespace-wide allows the platform owns.

Ownership (agreed in infra/k8s/network_policies.py): the platform writes the default deny and the allows every
namespace or the edge needs (DNS, Prometheus scrapes, the Kubernetes API, the edge to the gateway, internet egress for
the few pods that must leave the cluster). Workload components write their own point-to-point allows (callers -> engine,
gateway -> auth/sessions/chat, services -> data). Pods are selected by ``app.kubernetes.io/name`` (infra/k8s/labels.py)
or, for charts we do not control, by the labels those charts document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from infra.k8s.labels import KUBE_API_ACCESS, NAME_LABEL
from infra.k8s.network_policies import allow_from, allow_to, default_deny, ip_block, network_policy, peer
from infra.naming import CONCERNS, Concern

# --- who: pod selectors ----------------------------------------------------------------------------------------------
# KUBE_API_ACCESS (infra/k8s/labels.py) opts a pod into API access (the router's EndpointSlice watch, controllers,
# Prometheus service discovery). Charts set it through their pod-label values; our own pods in their templates.
KUBE_DNS = {"k8s-app": "kube-dns"}  # CoreDNS on EKS and kube-dns on GKE both carry it
KUBE_SYSTEM = "kube-system"
#: Labels Envoy Gateway puts on every proxy pod it creates for a Gateway.
ENVOY_PROXY = {NAME_LABEL: "envoy", "app.kubernetes.io/component": "proxy"}
ENVOY_GATEWAY_CONTROLLER = {"control-plane": "envoy-gateway"}
#: cert-manager labels the HTTP-01 solver pods it creates with this.
ACME_SOLVER = {"acme.cert-manager.io/http01-solver": "true"}
CERT_MANAGER_CONTROLLER = {NAME_LABEL: "cert-manager", "app.kubernetes.io/component": "controller"}
CERT_MANAGER_WEBHOOK = {NAME_LABEL: "webhook", "app.kubernetes.io/component": "webhook"}
PROMETHEUS = {NAME_LABEL: "prometheus"}  # the Prometheus Operator labels Prometheus pods so
ALERTMANAGER = {NAME_LABEL: "alertmanager"}
GATEWAY = {NAME_LABEL: "gateway"}
MODEL_LOADER = {NAME_LABEL: "model-loader"}

# --- where: ports ----------------------------------------------------------------------------------------------------
DNS_PORT = 53
KUBE_API_PORT = 443
#: Envoy Gateway shifts privileged listener ports by 10000 inside the pod, so Envoy needs no NET_BIND_SERVICE.
ENVOY_HTTP_PORT = 10080
ENVOY_HTTPS_PORT = 10443
XDS_PORT = 18000
ACME_SOLVER_PORT = 8089
CERT_MANAGER_WEBHOOK_PORT = 10250
#: The gateway Service's port in the app namespace (every Helpline process listens on 8080).
GATEWAY_PORT = 8080
KUBELET_PORT = 10250
NODE_EXPORTER_PORT = 9100

#: Ports Prometheus may scrape in each namespace: the one place to add a metrics port.
SCRAPE_PORTS: dict[Concern, tuple[int, ...]] = {
    "app": (8080,),  # every service serves /metrics on its HTTP port
    "serving": (8000, 8080),  # vLLM (and the simulator) on the API port; the router
    "data": (9187, 9121),  # postgres-exporter, redis-exporter (in-cluster data tier)
    "monitoring": (3000, 8080, 9090, 9093, 10250),  # Grafana, kube-state-metrics, Prometheus, Alertmanager, operator
    "ingress": (19001, 9402),  # Envoy Gateway and Envoy stats; cert-manager
    "platform": (9400,),  # DCGM exporter (node-exporter uses the host network: scraped on node addresses)
}

# --- the internet ----------------------------------------------------------------------------------------------------
#: Private and link-local ranges are not "the internet": leaving them out keeps internet egress from reaching other
#: workloads, the nodes, or the instance metadata service (169.254.169.254).
NON_INTERNET = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")
INTERNET = ip_block("0.0.0.0/0", NON_INTERNET)
#: GKE Workload Identity: the metadata server that exchanges the pod's identity for Google credentials.
GKE_METADATA = (("169.254.169.254/32", 80), ("169.254.169.252/32", 988))
#: GKE NodeLocal DNSCache (``dnsCacheConfig``): pods' resolv.conf points at this link-local address on their node,
#: served by a host-network agent, so a policy that admits only kube-dns pods blocks every lookup.
GKE_NODE_LOCAL_DNS = "169.254.20.10/32"


@dataclass(frozen=True)
class ClusterAddresses:
    """What policies must name by address because it has no pod labels."""

    cloud: Literal["aws", "gcp"]
    #: where the API server's endpoints are (EKS: ENIs in the VPC; GKE: the control-plane range)
    api_server_cidrs: tuple[str, ...]
    #: node addresses (kubelet/cAdvisor and host-network exporters)
    node_cidrs: tuple[str, ...]
    #: where a node-local DNS cache answers, when the cluster runs one (GKE's NodeLocal DNSCache)
    node_local_dns: tuple[str, ...] = ()


def _from_cidrs(cidrs: Sequence[str]) -> list[dict[str, Any]]:
    return [ip_block(cidr) for cidr in cidrs]


def dns_egress(node_local_dns: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Egress rules to the cluster DNS, over UDP and TCP (large answers fall back to TCP): the kube-dns pods, and the
    node-local cache's address where the cluster runs one."""
    to = [peer(KUBE_SYSTEM, KUBE_DNS), *(ip_block(cidr) for cidr in node_local_dns)]
    return [allow_to(to, [DNS_PORT], protocol="UDP"), allow_to(to, [DNS_PORT])]


@dataclass(frozen=True)
class BaselineBuilder:
    """Builds the platform-owned policies of every namespace; ``namespaces`` maps each concern to its name."""

    namespaces: Mapping[Concern, str]
    addresses: ClusterAddresses
    labels: Mapping[str, str]

    def ns(self, concern: Concern) -> str:
        return self.namespaces[concern]

    def _policy(
        self,
        name: str,
        concern: Concern,
        pod_labels: Mapping[str, str] | None,
        *,
        ingress: Sequence[Mapping[str, Any]] | None = None,
        egress: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        return network_policy(
            name, self.ns(concern), pod_labels=pod_labels, ingress=ingress, egress=egress, labels=self.labels
        )

    # --- every namespace --------------------------------------------------------------------------------------------
    def namespace_wide(self, concern: Concern) -> list[dict[str, Any]]:
        """Default deny, DNS, Prometheus scrapes and API access: what every namespace we own gets."""
        prometheus = peer(self.ns("monitoring"), PROMETHEUS)
        return [
            default_deny(self.ns(concern), labels=self.labels),
            self._policy("allow-dns", concern, None, egress=dns_egress(self.addresses.node_local_dns)),
            self._policy(
                "allow-prometheus-scrape", concern, None, ingress=[allow_from([prometheus], SCRAPE_PORTS[concern])]
            ),
            self._policy(
                "allow-kube-api",
                concern,
                KUBE_API_ACCESS,
                egress=[allow_to(_from_cidrs(self.addresses.api_server_cidrs), [KUBE_API_PORT])],
            ),
        ]

    # --- the edge ---------------------------------------------------------------------------------------------------
    def edge(self) -> list[dict[str, Any]]:
        """Internet -> Envoy -> gateway, plus what Envoy Gateway and cert-manager need around it."""
        envoy = peer(pod_labels=ENVOY_PROXY)
        gateway_in_app = peer(self.ns("app"), GATEWAY)
        return [
            self._policy(
                "allow-internet-to-edge",
                "ingress",
                ENVOY_PROXY,
                ingress=[allow_from([ip_block("0.0.0.0/0")], [ENVOY_HTTP_PORT, ENVOY_HTTPS_PORT])],
            ),
            self._policy(
                "allow-envoy-egress",
                "ingress",
                ENVOY_PROXY,
                egress=[
                    allow_to([gateway_in_app], [GATEWAY_PORT]),
                    allow_to([peer(pod_labels=ACME_SOLVER)], [ACME_SOLVER_PORT]),
                    allow_to([peer(pod_labels=ENVOY_GATEWAY_CONTROLLER)], [XDS_PORT]),
                ],
            ),
            self._policy(
                "allow-xds-from-envoy", "ingress", ENVOY_GATEWAY_CONTROLLER, ingress=[allow_from([envoy], [XDS_PORT])]
            ),
            self._policy(
                "allow-acme-solver-from-envoy",
                "ingress",
                ACME_SOLVER,
                ingress=[allow_from([envoy], [ACME_SOLVER_PORT])],
            ),
            self._policy(
                "allow-webhook-from-api-server",
                "ingress",
                CERT_MANAGER_WEBHOOK,
                ingress=[allow_from(_from_cidrs(self.addresses.api_server_cidrs), [CERT_MANAGER_WEBHOOK_PORT])],
            ),
            # ACME: the directory and order API over 443, and cert-manager's HTTP-01 self-check, which fetches the
            # challenge through the public load balancer on 80 before asking Let's Encrypt to validate.
            self._policy(
                "allow-acme-egress", "ingress", CERT_MANAGER_CONTROLLER, egress=[allow_to([INTERNET], [443, 80])]
            ),
            self._policy(
                "allow-edge-to-gateway",
                "app",
                GATEWAY,
                ingress=[allow_from([peer(self.ns("ingress"), ENVOY_PROXY)], [GATEWAY_PORT])],
            ),
        ]

    # --- leaving the cluster ----------------------------------------------------------------------------------------
    def model_download(self) -> dict[str, Any]:
        """Only the model loader may reach the model hub and the bucket (HTTPS); on GKE also its metadata server."""
        rules = [allow_to([INTERNET], [443])]
        if self.addresses.cloud == "gcp":
            rules += [allow_to([ip_block(cidr)], [port]) for cidr, port in GKE_METADATA]
        return self._policy("allow-model-download", "serving", MODEL_LOADER, egress=rules)

    def monitoring(self) -> list[dict[str, Any]]:
        """Prometheus reaches every namespace's scrape ports and the nodes; Alertmanager reaches its webhooks."""
        scrape = [
            allow_to([peer(self.ns(concern))], SCRAPE_PORTS[concern])
            for concern in CONCERNS
            if concern in self.namespaces
        ]
        scrape.append(allow_to(_from_cidrs(self.addresses.node_cidrs), [KUBELET_PORT, NODE_EXPORTER_PORT]))
        return [
            self._policy("allow-prometheus-scrape-egress", "monitoring", PROMETHEUS, egress=scrape),
            self._policy("allow-alert-delivery", "monitoring", ALERTMANAGER, egress=[allow_to([INTERNET], [443])]),
        ]

    def all(self) -> list[dict[str, Any]]:
        """Every platform-owned policy of every namespace, in a stable order."""
        policies = [policy for concern in self.namespaces for policy in self.namespace_wide(concern)]
        return [*policies, *self.edge(), self.model_download(), *self.monitoring()]
