"""Every PromQL expression the stack ships, each with where it lives, for checks against a real exporter.

Four sources, as an operator meets them: the rule files (alerts and recordings), the Grafana dashboards (panel
targets and template variables), the KEDA triggers of every rendered ScaledObject, and the queries the docs tell
an operator to run (inline code and code blocks in ``README.md`` and ``docs/*.md`` that name a ``vllm:`` series).
A location is what a reader needs to find the expression: file, then rule, panel, trigger or line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import promql_parser

from infra.platform.alerts import iter_rules, load_rule_file, rule_files
from infra.platform.dashboards import dashboards
from tests.infra.promql import TARGET_LABELS, selector_name, selectors, without_grafana_variables
from tests.infra.rendering import ROOT, Render
from tests.support.exposition import Exposition

DASHBOARD_SOURCES = ROOT / "infra" / "platform" / "dashboards"
AUTOSCALING_SOURCE = "infra/serving/autoscaling.py"
DOC_FILES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
#: ``code`` spans and fenced blocks of Markdown (fences first, so a span never starts inside a block).
_MARKDOWN_CODE = re.compile(r"```[^\n]*\n(?P<block>.*?)```|`(?P<span>[^`\n]+)`", re.DOTALL)
#: A doc's stand-in for a value (``model_name="<served>"``), replaced by a plain value before parsing.
_DOC_PLACEHOLDER = re.compile(r"<[^<>\s]+>")
_LABEL_VALUES = re.compile(r"^label_values\((?P<metric>[^,()]+),\s*(?P<label>\w+)\)$")


@dataclass(frozen=True)
class ShippedExpression:
    """One expression and where it is shipped (file, then rule / panel / trigger / line)."""

    location: str
    expr: str


@dataclass(frozen=True)
class SeriesUse:
    """One series an expression reads, and the labels the expression needs it to carry."""

    name: str
    labels: frozenset[str]
    #: named in prose (a doc's bare ``vllm:time_to_first_token_seconds``): a histogram's family name will do
    prose: bool = False


def rule_expressions() -> Iterator[ShippedExpression]:
    for path in rule_files():
        for group in load_rule_file(path)["groups"]:
            for rule in iter_rules({"groups": [group]}):
                kind, name = ("alert", rule["alert"]) if "alert" in rule else ("record", rule["record"])
                location = f"{path.relative_to(ROOT)}: group {group['name']!r}, {kind} {name!r}"
                yield ShippedExpression(location, rule["expr"])


def _dashboard_file(uid: str) -> str:
    """The module that declares the dashboard (the one whose source holds its uid)."""
    for path in sorted(DASHBOARD_SOURCES.glob("*.py")):
        if f'"{uid}"' in path.read_text():
            return str(path.relative_to(ROOT))
    return str(DASHBOARD_SOURCES.relative_to(ROOT))


def dashboard_expressions() -> Iterator[ShippedExpression]:
    for dashboard in dashboards():
        where = f"{_dashboard_file(dashboard.uid)}: dashboard {dashboard.uid!r}"
        for panel in dashboard.panels():
            for query in panel.queries:
                yield ShippedExpression(f"{where}, panel {panel.title!r}", query.expr)
        for variable in dashboard.to_json()["templating"]["list"]:
            match = _LABEL_VALUES.match(variable["query"])
            if match:  # label_values(metric, label) reads ``metric`` and needs ``label`` on it
                expr = f"count by ({match['label']}) ({match['metric']})"
                yield ShippedExpression(f"{where}, variable {variable['name']!r}", expr)


def keda_expressions(renders: Iterable[Render]) -> Iterator[ShippedExpression]:
    for render in renders:
        for scaled in render.objects("ScaledObject"):
            meta = scaled["metadata"]
            for trigger in scaled["spec"]["triggers"]:
                if trigger["type"] != "prometheus":
                    continue
                location = (
                    f"{AUTOSCALING_SOURCE} (render {render.id}): ScaledObject {meta['namespace']}/{meta['name']}, "
                    f"trigger {trigger.get('name', '?')!r}"
                )
                yield ShippedExpression(location, trigger["metadata"]["query"])


def doc_expressions(metric_prefix: str = "vllm:", files: Iterable[Path] = DOC_FILES) -> Iterator[ShippedExpression]:
    """Code in the docs that names a series with ``metric_prefix`` (the queries a runbook tells you to run)."""
    for path in files:
        text = path.read_text()
        for match in _MARKDOWN_CODE.finditer(text):
            code = match["block"] if match["block"] is not None else match["span"]
            if metric_prefix not in code:
                continue
            line = text.count("\n", 0, match.start()) + 1
            lines = code.splitlines() if match["block"] is not None else [code]
            for offset, expr in enumerate(lines):
                if metric_prefix in expr:
                    where = line + offset + (1 if match["block"] is not None else 0)
                    yield ShippedExpression(f"{path.relative_to(ROOT)}:{where}", expr.strip())


def shipped_expressions(renders: Iterable[Render]) -> list[ShippedExpression]:
    return [*rule_expressions(), *dashboard_expressions(), *keda_expressions(renders), *doc_expressions()]


def _aggregations(expr: promql_parser.Expr) -> list[promql_parser.AggregateExpr]:
    found: list[promql_parser.AggregateExpr] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.AggregateExpr):
            found.append(node)

    promql_parser.walk(expr, visit)
    return found


def series_uses(expr: str) -> list[SeriesUse]:
    """Each named series the expression reads, with the labels it matches on or groups ``by``.

    A ``by (...)`` label is required of every series under that aggregation (grouping by a label a series lacks
    silently merges what the panel or alert meant to tell apart). Doc placeholders (``<served>``) and Grafana
    variables are replaced by plain values first. A code span that is a bare name, or a name followed by its
    label list (``vllm:request_success_total{finished_reason}``), reads as that series with those labels.
    """
    text = without_grafana_variables(_DOC_PLACEHOLDER.sub("x", expr))
    bare = re.fullmatch(r"(?P<name>[a-zA-Z_:][\w:]*)(\{(?P<labels>[\w\s,]*)\})?", text.strip())
    if bare:
        labels = frozenset(label.strip() for label in (bare["labels"] or "").split(",") if label.strip())
        return [SeriesUse(bare["name"], labels, prose=True)]
    parsed = promql_parser.parse(text)
    uses: dict[str, set[str]] = {}
    for selector in selectors(parsed):
        name = selector_name(selector)
        if name is not None:
            uses.setdefault(name, set()).update(m.name for m in selector.matchers.matchers if m.name != "__name__")
    for aggregation in _aggregations(parsed):
        modifier = aggregation.modifier
        if modifier is None or modifier.type != promql_parser.AggModifierType.By:
            continue
        for selector in selectors(aggregation.expr):
            name = selector_name(selector)
            if name is not None:
                uses[name].update(modifier.labels)
    return [SeriesUse(name, frozenset(labels)) for name, labels in uses.items()]


def exported_problems(use: SeriesUse, exported: Exposition) -> list[str]:
    """What the exporter lacks for this use: the series itself, or a label the expression matches or groups by."""
    if use.prose and exported.families.get(use.name) == "histogram":
        return []  # prose names the histogram; its series are checked where an expression reads them
    labels = exported.series.get(use.name)
    if labels is None:
        return [f"{use.name} is not exported (the engine's series: {', '.join(exported.names(use.name[:5]))})"]
    missing = sorted(use.labels - labels - TARGET_LABELS)
    if missing:
        return [f"{use.name} has no label {', '.join(missing)} (it has: {', '.join(sorted(labels))})"]
    return []


def expression_problems_against(
    shipped: Iterable[ShippedExpression], exported: Exposition, metric_prefix: str = "vllm:"
) -> list[str]:
    """``<location>: <problem>`` for every series with ``metric_prefix`` that the exporter lacks (or lacks a label of)."""
    problems: list[str] = []
    for expression in shipped:
        try:
            uses = series_uses(expression.expr)
        except ValueError as exc:
            problems.append(f"{expression.location}: does not parse ({exc}): {expression.expr}")
            continue
        for use in uses:
            if use.name.startswith(metric_prefix):
                problems += [f"{expression.location}: {problem}" for problem in exported_problems(use, exported)]
    return problems
