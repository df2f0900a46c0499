"""Every ``vllm:`` series we query (rules, dashboards, KEDA triggers, docs) against a real vLLM's ``/metrics``.

The infra checks in test_alerts.py and test_dashboards.py hold expressions to ``app/contracts/metrics.py``; this
holds that catalog and every shipped expression to the engine itself (the session's real server, see
tests/support/vllm_fixtures.py), after one request so that per-request series exist. A series vLLM renamed or
dropped, or a label it no longer carries, fails with the expression's file and rule, panel, trigger or line.
"""

from __future__ import annotations

import httpx
import pytest

from app.contracts.metrics import VLLM_KV_OFFLOAD_METRICS, VLLM_METRICS, VLLM_REMOVED_METRICS
from tests.infra.rendering import Render
from tests.infra.shipped_promql import (
    SeriesUse,
    ShippedExpression,
    exported_problems,
    expression_problems_against,
    shipped_expressions,
)
from tests.support.exposition import Exposition
from tests.support.vllm_fixtures import RealVllm

SAMPLE = """\
# HELP vllm:num_requests_waiting Requests waiting.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 0.0
# HELP vllm:time_to_first_token_seconds TTFT.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.1",model_name="m"} 1.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="m"} 1.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="m"} 1.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="m"} 0.05
"""


@pytest.fixture(scope="module")
def real_metrics(real_vllm: RealVllm) -> Exposition:
    """The real server's /metrics after one short completion (histograms and counters then carry samples)."""
    with httpx.Client(timeout=120, headers=real_vllm.auth()) as http:
        answer = http.post(
            f"{real_vllm.v1_url}/completions", json={"model": real_vllm.model, "prompt": "Hello", "max_tokens": 4}
        )
        assert answer.status_code == 200, answer.text
        return Exposition.parse(http.get(f"{real_vllm.base_url}/metrics").text)


def test_a_dropped_series_or_label_fails_with_the_expression_location() -> None:
    exported = Exposition.parse(SAMPLE)
    shipped = [
        ShippedExpression("a.rules.yaml: alert 'Ok'", 'sum by (model_name) (vllm:num_requests_waiting{pod!=""})'),
        ShippedExpression("b.py: panel 'Gone'", "sum(vllm:num_requests_swapped)"),
        ShippedExpression(
            "c.py: panel 'Label'", 'sum by (finished_reason) (vllm:num_requests_waiting{model_name="x"})'
        ),
        ShippedExpression("d.md:3", "vllm:time_to_first_token_seconds"),
        ShippedExpression("e.py: panel 'Family'", "rate(vllm:time_to_first_token_seconds[5m])"),
    ]
    assert expression_problems_against(shipped, exported) == [
        "b.py: panel 'Gone': vllm:num_requests_swapped is not exported (the engine's series: "
        "vllm:num_requests_waiting, vllm:time_to_first_token_seconds_bucket, vllm:time_to_first_token_seconds_count, "
        "vllm:time_to_first_token_seconds_sum)",
        "c.py: panel 'Label': vllm:num_requests_waiting has no label finished_reason (it has: engine, model_name)",
        "e.py: panel 'Family': vllm:time_to_first_token_seconds is not exported (the engine's series: "
        "vllm:num_requests_waiting, vllm:time_to_first_token_seconds_bucket, vllm:time_to_first_token_seconds_count, "
        "vllm:time_to_first_token_seconds_sum)",
    ]


def test_the_collection_reaches_every_source(all_renders: dict[str, Render]) -> None:
    """Rules, dashboards, KEDA and docs each contribute vLLM queries: an empty source would pass vacuously."""
    locations = [e.location for e in shipped_expressions(all_renders.values()) if "vllm:" in e.expr]
    for source in ("infra/platform/alerts/", "infra/platform/dashboards/", "infra/serving/autoscaling.py", "docs/"):
        assert any(location.startswith(source) for location in locations), source
    assert sum("ScaledObject" in location for location in locations) >= 2 * len(all_renders)


def test_every_shipped_vllm_series_is_exported_by_the_real_engine(
    real_metrics: Exposition, all_renders: dict[str, Render]
) -> None:
    problems = expression_problems_against(shipped_expressions(all_renders.values()), real_metrics)
    # Offloading series exist only on an engine that offloads (the CPU build cannot): checked against the catalog.
    optional = [f"{metric.name} is not exported" for metric in VLLM_KV_OFFLOAD_METRICS]
    problems = [problem for problem in problems if not any(name in problem for name in optional)]
    assert not problems, "\n".join(problems)


def test_the_metric_catalog_matches_the_real_engine(real_metrics: Exposition) -> None:
    """The catalog the simulator exports and the infra checks read is what vLLM exports, labels included."""
    problems = [
        f"app/contracts/metrics.py: {problem}"
        for metric in VLLM_METRICS
        for series in metric.series_names()
        for problem in exported_problems(SeriesUse(series, frozenset(metric.labels)), real_metrics)
    ]
    problems += [
        f"{name} is listed as removed but vLLM exports it"
        for name in VLLM_REMOVED_METRICS
        if name in real_metrics.series
    ]
    assert not problems, "\n".join(problems)
