"""Dashboards as code: valid Grafana dashboards, a sane layout, and queries that read what the stack exports."""

from __future__ import annotations

import json
from itertools import combinations
from typing import Any

import jsonschema
import pytest

from app.contracts.metrics import VLLM_REMOVED_METRICS
from infra.platform.alerts import recorded_names
from infra.platform.dashboards import dashboards
from infra.platform.dashboards.builder import GRID_COLUMNS, Dashboard
from tests.infra.promql import MetricCatalog, expression_problems, metric_names
from tests.support.shared_data import shared_file

DASHBOARDS = dashboards()


def by_uid(uid: str) -> Dashboard:
    return next(d for d in DASHBOARDS if d.uid == uid)


def expressions(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def panel_titles(uid: str) -> set[str]:
    return {panel.title for panel in by_uid(uid).panels()}


@pytest.fixture(scope="module")
def grafana_schema() -> dict[str, Any]:
    return json.loads(shared_file("json-schemas", "grafana-dashboard-5.x.json").read_text())


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda d: d.uid)
def test_dashboard_validates_against_the_grafana_schema(dashboard: Dashboard, grafana_schema: dict[str, Any]) -> None:
    """The schema describes the dashboard API's envelope; an empty one would pass vacuously, so both are checked."""
    model = dashboard.to_json()
    jsonschema.validate({"dashboard": model, "overwrite": True}, grafana_schema)
    assert model["panels"]
    assert model["title"]
    assert 8 <= len(model["uid"]) <= 40


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda d: d.uid)
def test_every_expression_parses_and_reads_exported_metrics(dashboard: Dashboard) -> None:
    catalog = MetricCatalog.deployed(recorded_names())
    problems = [problem for expr in expressions(dashboard.to_json()) for problem in expression_problems(expr, catalog)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda d: d.uid)
def test_layout_has_unique_ids_and_no_overlapping_panels(dashboard: Dashboard) -> None:
    panels = dashboard.to_json()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= GRID_COLUMNS, panel["title"]
    for a, b in combinations([p["gridPos"] for p in panels], 2):
        overlap_x = a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
        overlap_y = a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]
        assert not (overlap_x and overlap_y), (a, b)


def test_uids_are_unique_and_no_removed_vllm_metric_appears() -> None:
    assert len({d.uid for d in DASHBOARDS}) == len(DASHBOARDS)
    text = json.dumps([d.to_json() for d in DASHBOARDS])
    assert not [name for name in VLLM_REMOVED_METRICS if name in text]


def test_llm_serving_panels_follow_the_model_name_variable() -> None:
    dashboard = by_uid("helpline-llm-serving").to_json()
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["model_name"]
    for expr in expressions(dashboard):
        assert metric_names(expr), expr
        assert expr.count('model_name=~"$model_name"') == expr.count("vllm:"), (
            f"a vLLM selector ignores the picker: {expr}"
        )
    assert {
        "Time to first token",
        "Inter-token latency",
        "End-to-end latency",
        "Queue time",
        "Running requests",
        "Waiting requests",
        "KV-cache usage",
        "Prefix-cache hit rate",
        "Tokens per second",
        "Preemptions",
    } <= panel_titles("helpline-llm-serving")
    ttft = next(p for p in by_uid("helpline-llm-serving").panels() if p.title == "Time to first token")
    assert [q.legend for q in ttft.queries] == ["{{model_name}} p50", "{{model_name}} p90", "{{model_name}} p99"]


def test_gpu_customer_service_and_slo_dashboards_cover_the_issue() -> None:
    assert {"Utilisation", "Memory used", "Temperature", "Power"} <= panel_titles("helpline-gpu")
    assert {
        "Requests by service",
        "5xx ratio by service",
        "Gateway latency",
        "Rate-limit rejections",
        "Handoffs to a human",
        "Feedback",
    } <= panel_titles("helpline-customer-service")
    slo_rows = [row.title for row in by_uid("helpline-slo").rows]
    assert len(slo_rows) == 3
    assert all("Error budget left (30d)" in {p.title for p in row.panels} for row in by_uid("helpline-slo").rows)


def test_the_customer_service_dashboard_shows_the_degradation_ladder() -> None:
    level = next(p for p in by_uid("helpline-customer-service").panels() if p.title == "Degradation level")
    assert [q.expr for q in level.queries] == ["max by (model, tier) (helpline_degradation_level)"]
    assert (level.min, level.max) == (0, 3)
    assert "Degraded answers" in panel_titles("helpline-customer-service")


def test_the_customer_service_dashboard_has_the_knowledge_panel() -> None:
    panels = {p.title: p for p in by_uid("helpline-customer-service").panels()}
    assert {"Retrieval hit rate", "No-answer rate", "Content gaps recorded", "Retrieval latency"} <= set(panels)
    hit_rate = panels["Retrieval hit rate"].queries[0].expr
    assert 'helpline_knowledge_answers_total{outcome=~"grounded|curated"}' in hit_rate
    assert 'helpline_knowledge_answers_total{outcome="no_answer"}' in panels["No-answer rate"].queries[0].expr


def test_the_cost_dashboard_shows_spend_unit_costs_and_idle_gpus() -> None:
    assert {
        "GPU spend per hour",
        "Last 24 hours",
        "Per million generated tokens",
        "Per conversation",
        "Per tenant (per hour)",
        "Idle share",
    } <= panel_titles("helpline-cost")
