"""One checker for every PromQL expression the stack ships (dashboards, alert and recording rules, KEDA triggers).

``expression_problems(expr, catalog)`` says what is wrong with an expression, in words: it does not parse, it names a
metric nothing deploys (or one vLLM removed), or it matches a label the metric does not carry (the classic
``vllm:...{model="x"}`` that reads nothing because vLLM's label is ``model_name``). Grafana's ``$variables`` are
replaced by stand-ins first, the way Grafana interpolates them before querying.

Usage from another area's test::

    from tests.infra.promql import MetricCatalog, expression_problems
    assert expression_problems(trigger_query, MetricCatalog.deployed()) == []
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import promql_parser

from app.contracts.metrics import (
    DCGM_METRICS,
    SERVICE_METRICS,
    VLLM_KV_OFFLOAD_METRICS,
    VLLM_METRICS,
    VLLM_REMOVED_METRICS,
    Metric,
)
from infra.platform.monitoring_catalog import external_series

#: Labels Prometheus (through the operator's ServiceMonitors) adds to every scraped series, whatever the exporter says;
#: ``exported_*`` is where a clashing exporter label lands when ``honorLabels`` is off.
TARGET_LABELS = frozenset(
    {"job", "instance", "namespace", "pod", "container", "service", "endpoint", "exported_namespace", "__name__"}
)
#: Grafana's interval variables, replaced by durations (they stand where PromQL needs a duration).
GRAFANA_INTERVALS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
_GRAFANA_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def without_grafana_variables(expr: str) -> str:
    """Interpolate as Grafana would: intervals become durations, template variables a plain value."""

    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        return GRAFANA_INTERVALS.get(name, "placeholder")

    return _GRAFANA_VARIABLE.sub(replace, expr)


def _series_labels(metric: Metric) -> dict[str, frozenset[str]]:
    labels = frozenset(metric.labels)
    if metric.kind != "histogram":
        return {metric.name: labels}
    bucket, total, count = metric.series_names()
    return {bucket: labels | {"le"}, total: labels, count: labels}


@dataclass(frozen=True)
class MetricCatalog:
    """Series names something in the stack exports; for our own and vLLM's, also the labels they carry.

    ``labels[name] is None`` means the name is known but its labels are not catalogued (exporters we do not write,
    recording rules), so only the name is checked.
    """

    labels: Mapping[str, frozenset[str] | None]
    removed: frozenset[str] = frozenset(VLLM_REMOVED_METRICS)

    @classmethod
    def deployed(cls, recorded: Iterable[str] = ()) -> MetricCatalog:
        """The contracts' catalogs, the external exporters, and the given recording-rule names."""
        labels: dict[str, frozenset[str] | None] = {}
        for metric in (*VLLM_METRICS, *VLLM_KV_OFFLOAD_METRICS, *SERVICE_METRICS):
            labels.update(_series_labels(metric))
        for name in (*DCGM_METRICS, *external_series(), *recorded):
            labels.setdefault(name, None)
        return cls(labels)


def selectors(expr: promql_parser.Expr) -> list[promql_parser.VectorSelector]:
    found: list[promql_parser.VectorSelector] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(expr, visit)
    return found


def selector_name(selector: promql_parser.VectorSelector) -> str | None:
    """The metric name, whether written bare or as ``{__name__="..."}``; None for a regex or no name."""
    if selector.name:
        return selector.name
    for matcher in selector.matchers.matchers:
        if matcher.name == "__name__" and matcher.op == promql_parser.MatchOp.Equal:
            return matcher.value
    return None


def metric_names(expr: str) -> set[str]:
    """Every metric an expression reads (after Grafana interpolation); raises ValueError when it does not parse."""
    parsed = promql_parser.parse(without_grafana_variables(expr))
    return {name for selector in selectors(parsed) if (name := selector_name(selector))}


def expression_problems(expr: str, catalog: MetricCatalog) -> list[str]:
    """Empty when ``expr`` parses and reads only exported series through labels they carry."""
    try:
        parsed = promql_parser.parse(without_grafana_variables(expr))
    except ValueError as exc:
        return [f"does not parse ({exc}): {expr}"]
    problems: list[str] = []
    for selector in selectors(parsed):
        name = selector_name(selector)
        if name is None:
            problems.append(f"selects no single metric name ({selector}): say which metric it reads")
            continue
        if name in catalog.removed:
            problems.append(f"{name} was removed from vLLM (0.12); use the catalog in app/contracts/metrics.py")
            continue
        if name not in catalog.labels:
            problems.append(f"{name} is exported by nothing the stack deploys")
            continue
        known = catalog.labels[name]
        if known is None:
            continue
        for matcher in selector.matchers.matchers:
            if matcher.name not in known and matcher.name not in TARGET_LABELS:
                problems.append(f"{name} has no label {matcher.name!r} (it has: {', '.join(sorted(known))})")
    return problems
