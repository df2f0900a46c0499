"""The charts behind metrics, logs and traces, pinned in one place so an upgrade is one reviewed diff.

Versions are the charts' latest releases when this stack was written; each chart pins its images by tag. Images are
not re-pinned by digest here (unlike ``charts.py``): their digests could not be read from a registry on the machine
this was written on, and a guessed digest would fail the pull. See docs/monitoring.md ("Pinning").
"""

from __future__ import annotations

from infra.platform.charts import ChartRef

#: Prometheus Operator v0.93 with Prometheus v3.14, Alertmanager v0.34, Grafana 13 (grafana-community chart 12.11).
KUBE_PROMETHEUS_STACK_CHART = ChartRef(
    "kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts"
)
#: Loki 3.7 (the OSS chart moved to grafana-community in 2026).
LOKI_CHART = ChartRef("loki", "18.11.0", "https://grafana-community.github.io/helm-charts")
#: Tempo 2.10, monolithic.
TEMPO_CHART = ChartRef("tempo", "2.2.4", "https://grafana-community.github.io/helm-charts")
#: Grafana Alloy v1.18, the log agent.
ALLOY_CHART = ChartRef("alloy", "1.11.1", "https://grafana.github.io/helm-charts")
#: OpenTelemetry Collector 0.158 (contrib image).
OTEL_COLLECTOR_CHART = ChartRef(
    "opentelemetry-collector", "0.170.0", "https://open-telemetry.github.io/opentelemetry-helm-charts"
)
