"""What Prometheus scrapes beyond kube-prometheus-stack's own targets: one ServiceMonitor per kind of workload.

The scrape convention every area follows (docs/monitoring.md):

- a Service is selected by the standard labels of infra/k8s/labels.py: ``app.kubernetes.io/part-of: helpline`` plus
  ``app.kubernetes.io/component`` = ``engine`` (vLLM or the simulator, serving namespace), ``router`` (serving
  namespace) or any component in the app namespace (our services);
- metrics are served at ``/metrics`` on the Service port named ``http``;
- the ``job`` label is fixed per kind (``vllm``, ``router``) so rules select by it in every stack, and for our
  services it is the Service's ``app.kubernetes.io/name`` (gateway, auth, sessions, chat).

Our services' metrics carry a ``service`` label of their own (app/contracts/metrics.py); ``honorLabels`` keeps it
instead of renaming it ``exported_service`` under the operator's target label of the same name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.k8s.labels import COMPONENT_LABEL, NAME_LABEL, PART_OF
from infra.platform.gpu import DcgmEndpoint

MONITORING_API = "monitoring.coreos.com/v1"
PART_OF_LABEL = "app.kubernetes.io/part-of"
METRICS_PATH = "/metrics"
#: Engines and routers move fast under load (queue, KV cache): scraped more often than the rest.
FAST_INTERVAL = "15s"
DEFAULT_INTERVAL = "30s"


@dataclass(frozen=True)
class ScrapeTarget:
    """Services to scrape: which namespace, which labels, which named port, and how ``job`` is set."""

    name: str
    namespace: str
    selector: Mapping[str, str]
    port: str
    interval: str = DEFAULT_INTERVAL
    #: a fixed job label, or None to take it from the Service's ``app.kubernetes.io/name``
    job: str | None = None
    honor_labels: bool = False


def helpline_targets(serving_namespace: str, app_namespace: str) -> list[ScrapeTarget]:
    """vLLM, the router and the services, by the convention above."""
    return [
        ScrapeTarget(
            "vllm",
            serving_namespace,
            {PART_OF_LABEL: PART_OF, COMPONENT_LABEL: "engine"},
            "http",
            FAST_INTERVAL,
            job="vllm",
        ),
        ScrapeTarget(
            "router",
            serving_namespace,
            {PART_OF_LABEL: PART_OF, COMPONENT_LABEL: "router"},
            "http",
            FAST_INTERVAL,
            job="router",
        ),
        ScrapeTarget("services", app_namespace, {PART_OF_LABEL: PART_OF}, "http", honor_labels=True),
    ]


#: cert-manager's controller Service (chart jetstack/cert-manager) and its metrics port name.
CERT_MANAGER_SERVICE_LABELS = {NAME_LABEL: "cert-manager", COMPONENT_LABEL: "controller"}
CERT_MANAGER_METRICS_PORT = "tcp-prometheus-servicemonitor"


def platform_targets(dcgm: DcgmEndpoint, cert_manager_namespace: str) -> list[ScrapeTarget]:
    """The platform's exporters: DCGM on the GPU nodes, cert-manager's controller (certificate expiry)."""
    return [
        ScrapeTarget(
            "dcgm-exporter", dcgm.namespace, dcgm.service_labels, dcgm.port_name, FAST_INTERVAL, job="dcgm-exporter"
        ),
        ScrapeTarget(
            "cert-manager",
            cert_manager_namespace,
            CERT_MANAGER_SERVICE_LABELS,
            CERT_MANAGER_METRICS_PORT,
            DEFAULT_INTERVAL,
            job="cert-manager",
        ),
    ]


def service_monitor(target: ScrapeTarget, namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """The ServiceMonitor (in the monitoring namespace) for ``target``."""
    endpoint: dict[str, Any] = {
        "port": target.port,
        "path": METRICS_PATH,
        "interval": target.interval,
        "scrapeTimeout": "10s",
        "honorLabels": target.honor_labels,
        # the pod and node behind each target, for per-replica panels and alerts
        "relabelings": [
            {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"},
        ],
    }
    if target.job is not None:
        endpoint["relabelings"].append({"action": "replace", "targetLabel": "job", "replacement": target.job})
    spec: dict[str, Any] = {
        "selector": {"matchLabels": dict(target.selector)},
        "namespaceSelector": {"matchNames": [target.namespace]},
        "endpoints": [endpoint],
    }
    if target.job is None:
        spec["jobLabel"] = NAME_LABEL
    return {
        "apiVersion": MONITORING_API,
        "kind": "ServiceMonitor",
        "metadata": {"name": target.name, "namespace": namespace, "labels": dict(labels)},
        "spec": spec,
    }
