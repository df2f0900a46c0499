"""Metrics the stack scrapes from components it deploys but does not write, with where each comes from.

``app/contracts/metrics.py`` lists what vLLM, our services and DCGM export; this lists the rest that dashboards and
alerts may name (kube-state-metrics, the kubelet's cAdvisor, node-exporter, cert-manager, Prometheus itself). A
query naming a metric in neither list reads nothing in production, so the tests refuse it. Add a name here only
together with the component (and, for kube-state-metrics labels, the allowlist entry) that exports it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExternalSource:
    """One exporter: who deploys it and the series names we rely on (as stored: counters with ``_total``)."""

    name: str
    deployed_by: str
    series: tuple[str, ...]


#: Pod labels kube-state-metrics copies into ``kube_pod_labels`` as ``label_<name>`` (its allowlist); alerts join on
#: them to select engine pods by component rather than by namespace.
KUBE_STATE_METRICS_POD_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/component")

EXTERNAL_SOURCES: tuple[ExternalSource, ...] = (
    ExternalSource(
        "kube-state-metrics",
        "kube-prometheus-stack (subchart kube-state-metrics)",
        (
            "kube_pod_status_ready",
            "kube_pod_status_phase",
            "kube_pod_labels",
            "kube_pod_container_status_waiting_reason",
            "kube_pod_container_status_restarts_total",
            "kube_deployment_spec_replicas",
            "kube_deployment_status_replicas_available",
            "kube_node_status_condition",
            "kube_node_status_capacity",
            "kube_horizontalpodautoscaler_status_current_replicas",
            "kube_horizontalpodautoscaler_spec_max_replicas",
        ),
    ),
    ExternalSource(
        "cAdvisor",
        "the kubelet, scraped by kube-prometheus-stack's kubelet ServiceMonitor",
        (
            "container_cpu_usage_seconds_total",
            "container_memory_working_set_bytes",
            "container_cpu_cfs_throttled_periods_total",
            "container_cpu_cfs_periods_total",
        ),
    ),
    ExternalSource(
        "node-exporter",
        "kube-prometheus-stack (subchart prometheus-node-exporter)",
        (
            "node_cpu_seconds_total",
            "node_memory_MemAvailable_bytes",
            "node_memory_MemTotal_bytes",
            "node_filesystem_avail_bytes",
            "node_filesystem_size_bytes",
        ),
    ),
    ExternalSource(
        "cert-manager",
        "the platform's cert-manager controller, scraped by the cert-manager ServiceMonitor",
        (
            "certmanager_certificate_expiration_timestamp_seconds",
            "certmanager_certificate_ready_status",
            "certmanager_certificate_renewal_timestamp_seconds",
        ),
    ),
    ExternalSource(
        "Prometheus",
        "Prometheus itself: synthetic series per target and per alert",
        ("up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS", "ALERTS_FOR_STATE"),
    ),
)


def external_series() -> frozenset[str]:
    return frozenset(series for source in EXTERNAL_SOURCES for series in source.series)
