"""The dashboards of infra/platform/dashboards as ConfigMaps the Grafana sidecar provisions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from infra.k8s.objects import config_map
from infra.platform.dashboards import dashboards

#: The label (and value) kube-prometheus-stack's Grafana sidecar watches for dashboards.
DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"
#: Annotation naming the Grafana folder (the sidecar's ``folderAnnotation``).
FOLDER_ANNOTATION = "grafana_folder"
FOLDER = "Helpline"


def dashboard_config_maps(namespace: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """One ConfigMap per dashboard, ``<uid>.json`` inside, in the Helpline folder."""
    return [
        config_map(
            f"dashboard-{dashboard.uid}",
            namespace,
            {**labels, DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE},
            {f"{dashboard.uid}.json": json.dumps(dashboard.to_json(), indent=1, sort_keys=True)},
            annotations={FOLDER_ANNOTATION: FOLDER},
        )
        for dashboard in dashboards()
    ]
