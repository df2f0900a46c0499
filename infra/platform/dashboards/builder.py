"""A small typed model of a Grafana dashboard, rendered to the JSON Grafana provisions.

Dashboards are data in this repository: each module in this package declares rows of panels with PromQL targets, and
``Dashboard.to_json()`` lays them out (rows of 24 columns) and fills in what every panel needs the same way (the
Prometheus datasource, legend and tooltip settings, units). Query shapes every dashboard repeats (quantiles of a
histogram, a ratio of two rates) are functions here, so no panel is a pasted copy of another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

#: The uid kube-prometheus-stack gives its Prometheus datasource (grafana.sidecar.datasources.uid).
PROMETHEUS_DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
#: Grafana's JSON model version these dashboards are written against (Grafana 11 and later read it as is).
SCHEMA_VERSION = 39
GRID_COLUMNS = 24
RATE_WINDOW = "$__rate_interval"

PanelKind = Literal["timeseries", "stat", "gauge"]


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    """One visualisation. ``unit`` is a Grafana unit id (``s``, ``percentunit``, ``reqps``, ``short``, ...)."""

    title: str
    description: str
    queries: Sequence[Query]
    unit: str = "short"
    kind: PanelKind = "timeseries"
    width: int = 8
    height: int = 8
    min: float | None = None
    max: float | None = None
    #: (value, colour) steps above ``base_colour``, for stats and gauges (and threshold lines on graphs)
    thresholds: Sequence[tuple[float, str]] = ()
    base_colour: str = "green"
    stack: bool = False


@dataclass(frozen=True)
class Row:
    title: str
    panels: Sequence[Panel]


@dataclass(frozen=True)
class Variable:
    """A query variable over one label of one metric (``label_values(metric, label)``), multi-select with All."""

    name: str
    label: str
    metric: str

    def to_json(self) -> dict[str, Any]:
        query = f"label_values({self.metric}, {self.name})"
        return {
            "name": self.name,
            "label": self.label,
            "type": "query",
            # null = the default datasource, which kube-prometheus-stack makes its Prometheus
            "datasource": None,
            "query": query,
            "definition": query,
            "multi": True,
            "includeAll": True,
            "allValue": ".*",
            "sort": 1,
        }


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: Sequence[Row]
    variables: Sequence[Variable] = ()
    tags: Sequence[str] = field(default=("helpline",))
    time_from: str = "now-6h"

    def panels(self) -> list[Panel]:
        return [panel for row in self.rows for panel in row.panels]

    def to_json(self) -> dict[str, Any]:
        """The dashboard model Grafana stores; ids and grid positions are derived, so they never collide."""
        panels: list[dict[str, Any]] = []
        y = 0
        for row in self.rows:
            panels.append(_row_json(row, len(panels) + 1, y))
            y += 1
            x, row_height = 0, 0
            for panel in row.panels:
                if x + panel.width > GRID_COLUMNS:
                    x, y = 0, y + row_height
                    row_height = 0
                panels.append(
                    _panel_json(panel, len(panels) + 1, {"x": x, "y": y, "w": panel.width, "h": panel.height})
                )
                x += panel.width
                row_height = max(row_height, panel.height)
            y += row_height
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "timezone": "utc",
            "editable": False,  # the repository is the source of truth; the provisioner refuses UI saves anyway
            "graphTooltip": 1,
            "time": {"from": self.time_from, "to": "now"},
            "refresh": "1m",
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "templating": {"list": [variable.to_json() for variable in self.variables]},
            "annotations": {"list": []},
            "links": [],
            "panels": panels,
        }


def _row_json(row: Row, panel_id: int, y: int) -> dict[str, Any]:
    return {
        "type": "row",
        "id": panel_id,
        "title": row.title,
        "collapsed": False,
        "gridPos": {"x": 0, "y": y, "w": GRID_COLUMNS, "h": 1},
        "panels": [],
    }


def _panel_json(panel: Panel, panel_id: int, grid: dict[str, int]) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit}
    if panel.min is not None:
        defaults["min"] = panel.min
    if panel.max is not None:
        defaults["max"] = panel.max
    steps: list[dict[str, Any]] = [{"color": panel.base_colour, "value": None}]
    steps += [{"color": colour, "value": value} for value, colour in panel.thresholds]
    defaults["thresholds"] = {"mode": "absolute", "steps": steps}
    if panel.kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "stacking": {"mode": "normal" if panel.stack else "none", "group": "A"},
            "thresholdsStyle": {"mode": "dashed" if panel.thresholds else "off"},
        }
    options: dict[str, Any] = (
        {
            "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max", "lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
        if panel.kind == "timeseries"
        else {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "colorMode": "value"}
    )
    return {
        "type": panel.kind,
        "id": panel_id,
        "title": panel.title,
        "description": panel.description,
        "datasource": PROMETHEUS_DATASOURCE,
        "gridPos": grid,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
        "targets": [
            {
                "refId": chr(ord("A") + index),
                "datasource": PROMETHEUS_DATASOURCE,
                "expr": query.expr,
                "legendFormat": query.legend or "__auto",
                "range": True,
            }
            for index, query in enumerate(panel.queries)
        ],
    }


# --- query shapes ------------------------------------------------------------------------------------------------
def rate(series: str, selector: str = "", by: str = "") -> str:
    """``sum by (<by>) (rate(<series>{<selector>}[$__rate_interval]))``."""
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({series}{{{selector}}}[{RATE_WINDOW}]))"


def ratio(numerator: str, denominator: str) -> str:
    return f"{numerator}\n/\n{denominator}"


def quantile_queries(
    histogram: str, selector: str = "", by: str = "", quantiles: Sequence[float] = (0.5, 0.9, 0.99)
) -> list[Query]:
    """One query per quantile of a Prometheus histogram, aggregated over pods, split ``by`` a label."""
    grouping = f"le, {by}" if by else "le"
    legend_prefix = f"{{{{{by}}}}} " if by else ""
    return [
        Query(
            f"histogram_quantile({q:g}, {rate(f'{histogram}_bucket', selector, grouping)})",
            f"{legend_prefix}p{q * 100:g}",
        )
        for q in quantiles
    ]
