"""Prometheus rule files, one concern per file (``<concern>.rules.yaml``), deployed as one PrometheusRule each.

The files are plain Prometheus rule files so ``promtool check rules`` and ``promtool test rules`` read exactly what is
deployed (tests: ``tests/infra/test_alerts.py``, unit tests in ``tests/infra/alert_tests/``). ``slo.rules.yaml`` is
generated from ``slos.py``; the others are written by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

RULES_DIR = Path(__file__).parent
RULE_FILE_SUFFIX = ".rules.yaml"


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob(f"*{RULE_FILE_SUFFIX}"))


def rule_file_name(path: Path) -> str:
    """``engine.rules.yaml`` -> ``engine``: the PrometheusRule's name suffix."""
    return path.name.removesuffix(RULE_FILE_SUFFIX)


def load_rule_file(path: Path) -> dict[str, Any]:
    """The file's ``{"groups": [...]}``, as PrometheusRule's ``spec`` takes it."""
    return yaml.safe_load(path.read_text())


def iter_rules(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every rule (alerting and recording) of a rule file, in order."""
    return [rule for group in spec["groups"] for rule in group["rules"]]


#: Recorded by the per-stack ``helpline-cost-inputs`` rule (``monitoring_rules.cost_input_rules``) from the config.
COST_INPUT_SERIES = ("helpline:gpu_hour_price_dollars", "helpline:gpu_daily_budget_dollars")


def recorded_names() -> set[str]:
    """Series the recording rules create: dashboards and alerts may read them like exported metrics."""
    recorded = {
        rule["record"] for path in rule_files() for rule in iter_rules(load_rule_file(path)) if "record" in rule
    }
    return recorded | set(COST_INPUT_SERIES)
