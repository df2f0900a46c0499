"""The monitoring namespace's own traffic, on top of the platform's baseline (default deny, DNS, scrapes, API).

The platform owns the namespace-wide allows (infra/platform/network_baseline.py); these are the point-to-point ones
only the monitoring stack knows: its components talking to each other, workloads sending traces to the collector,
and the API server calling the Prometheus Operator's admission webhook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from infra.k8s.network_policies import allow_from, ip_block, network_policy, peer
from infra.platform.tracing import OTLP_GRPC_PORT, OTLP_HTTP_PORT

#: Labels the OpenTelemetry Collector chart puts on its pods.
COLLECTOR_POD = {"app.kubernetes.io/name": "opentelemetry-collector"}
#: kube-prometheus-stack labels the operator's pods with the chart name, whatever the fullname override.
OPERATOR_POD = {"app": "kube-prometheus-stack-operator"}
OPERATOR_WEBHOOK_PORT = 10250


def monitoring_policies(
    namespace: str,
    trace_sources: Sequence[str],
    api_server_cidrs: Sequence[str],
    labels: Mapping[str, str],
) -> list[dict[str, Any]]:
    """Intra-namespace traffic, OTLP in from ``trace_sources`` namespaces, and the operator's webhook."""
    same_namespace = [peer(namespace)]
    return [
        # Grafana -> Prometheus/Alertmanager/Loki/Tempo, Prometheus -> Alertmanager and its own exporters,
        # Alertmanager gossip, Alloy -> Loki, collector -> Tempo: the namespace holds only the monitoring stack
        network_policy(
            "allow-within-monitoring",
            namespace,
            pod_labels=None,
            ingress=[{"from": same_namespace}],
            egress=[{"to": same_namespace}],
            labels=labels,
        ),
        network_policy(
            "allow-otlp-from-workloads",
            namespace,
            pod_labels=COLLECTOR_POD,
            ingress=[allow_from([peer(source) for source in trace_sources], [OTLP_GRPC_PORT, OTLP_HTTP_PORT])],
            labels=labels,
        ),
        network_policy(
            "allow-operator-webhook-from-api-server",
            namespace,
            pod_labels=OPERATOR_POD,
            ingress=[allow_from([ip_block(cidr) for cidr in api_server_cidrs], [OPERATOR_WEBHOOK_PORT])],
            labels=labels,
        ),
    ]
