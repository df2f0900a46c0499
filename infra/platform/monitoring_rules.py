"""The rule files of infra/platform/alerts as PrometheusRule objects, one per file, unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.platform.alerts import load_rule_file, rule_file_name, rule_files
from infra.platform.monitoring_targets import MONITORING_API


def prometheus_rules(namespace: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """``helpline-<file>`` PrometheusRules; Prometheus selects every PrometheusRule (ruleSelector is open)."""
    return [
        {
            "apiVersion": MONITORING_API,
            "kind": "PrometheusRule",
            "metadata": {"name": f"helpline-{rule_file_name(path)}", "namespace": namespace, "labels": dict(labels)},
            "spec": load_rule_file(path),
        }
        for path in rule_files()
    ]
