"""Dashboards as code: each module builds one Grafana dashboard; ``DASHBOARDS`` is what the stack provisions.

They reach Grafana as ConfigMaps labelled ``grafana_dashboard: "1"``, which kube-prometheus-stack's Grafana sidecar
watches and loads into the folder named by the ``grafana_folder`` annotation (``monitoring_dashboards.py``).
"""

from __future__ import annotations

from infra.platform.dashboards import cost, customer_service, gpu, llm_serving, slo
from infra.platform.dashboards.builder import Dashboard


def dashboards() -> list[Dashboard]:
    return [llm_serving.dashboard(), gpu.dashboard(), customer_service.dashboard(), slo.dashboard(), cost.dashboard()]
