"""The rule files of infra/platform/alerts as PrometheusRule objects, one per file, unchanged, and the per-stack
``helpline-cost-inputs`` rule that records the stack's GPU price and budget for ``cost.rules.yaml``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.platform.alerts import COST_INPUT_SERIES, load_rule_file, rule_file_name, rule_files
from infra.platform.monitoring_targets import MONITORING_API


@dataclass(frozen=True)
class CostInputs:
    """What a GPU-hour costs this stack and its daily budget (0: none), with where the price comes from."""

    gpu_hour_price: float
    daily_budget: float
    cloud: str
    gpu_type: str
    capacity: str
    #: "config" when gpuHourPrice is set, else the date of the list price used
    price_source: str


def cost_input_rules(cost: CostInputs) -> dict[str, Any]:
    """Constant series: Prometheus has no config values, so the price and budget become recorded series."""
    price_series, budget_series = COST_INPUT_SERIES
    labels = {
        "cloud": cost.cloud,
        "gpu_type": cost.gpu_type,
        "capacity": cost.capacity,
        "price_source": cost.price_source,
    }
    return {
        "groups": [
            {
                "name": "cost-inputs",
                "interval": "5m",
                "rules": [
                    {"record": price_series, "expr": f"vector({cost.gpu_hour_price:g})", "labels": labels},
                    {"record": budget_series, "expr": f"vector({cost.daily_budget:g})"},
                ],
            }
        ]
    }


def _prometheus_rule(name: str, namespace: str, labels: Mapping[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": MONITORING_API,
        "kind": "PrometheusRule",
        "metadata": {"name": f"helpline-{name}", "namespace": namespace, "labels": dict(labels)},
        "spec": spec,
    }


def prometheus_rules(namespace: str, labels: Mapping[str, str], cost: CostInputs) -> list[dict[str, Any]]:
    """``helpline-<file>`` PrometheusRules; Prometheus selects every PrometheusRule (ruleSelector is open)."""
    return [
        *(_prometheus_rule(rule_file_name(path), namespace, labels, load_rule_file(path)) for path in rule_files()),
        _prometheus_rule("cost-inputs", namespace, labels, cost_input_rules(cost)),
    ]
