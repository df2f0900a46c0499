"""The service level objectives, and the multi-window multi-burn-rate rules generated from them.

Each SLO is a ratio of bad events to all events over a window. The rules follow the Google SRE workbook
("Alerting on SLOs", the multiwindow, multi-burn-rate table): a long window proves the budget is really burning, a
short one (1/12 of it) proves it is still burning now, so the alert resolves minutes after the cause goes away.

- page (critical): 2% of a 30-day budget in 1 hour (14.4x, 1h and 5m) or 5% in 6 hours (6x, 6h and 30m);
- ticket (warning): 10% in 1 day (3x, 1d and 2h) or the whole budget at the current pace (1x, 3d and 6h).

``slo.rules.yaml`` beside this file is generated from ``SLOS`` (``python -m infra.platform.alerts.slos --write``)
and committed, so reviewers and ``promtool`` read the real rules; a test fails when it is stale.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

RULE_FILE = Path(__file__).with_name("slo.rules.yaml")
#: The budget period. Prod keeps at least this much data (stacks/config/platform.py, SLO_WINDOW_HOURS).
BUDGET_PERIOD = "30d"
#: The time-to-first-token SLO's target: an answer's first token within this. Chat's degradation ladder derives its
#: saturation thresholds from it (``HELPLINE_DEGRADATION_TTFT_SLO_SECONDS``, infra/services/catalog.py).
TTFT_SLO_SECONDS = 0.5
#: Label that tells the SLO recordings apart; dashboards and alerts select on it.
SLO_LABEL = "slo"
ERROR_RATIO = "slo:sli_error:ratio_rate{window}"
ERROR_BUDGET = "slo:error_budget:ratio"
BUDGET_REMAINING = "slo:error_budget_remaining:ratio"


@dataclass(frozen=True)
class BurnRateAlert:
    """One row of the workbook's table: fire when both windows burn faster than ``factor`` x the budget rate."""

    severity: str
    long_window: str
    short_window: str
    factor: float


#: The workbook's recommended rows for a 30-day budget, fastest first.
BURN_RATE_ALERTS = (
    BurnRateAlert("critical", "1h", "5m", 14.4),
    BurnRateAlert("critical", "6h", "30m", 6),
    BurnRateAlert("warning", "1d", "2h", 3),
    BurnRateAlert("warning", "3d", "6h", 1),
)
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


@dataclass(frozen=True)
class Slo:
    """``bad`` and ``total`` are PromQL with ``{window}`` where the range goes; both count events per second."""

    name: str
    alert_prefix: str
    title: str
    objective: float
    bad: str
    total: str
    description: str
    runbook: str

    @property
    def budget(self) -> float:
        """The fraction of events allowed to be bad (0.001 for 99.9%)."""
        return round(1 - self.objective, 10)

    @property
    def objective_percent(self) -> str:
        return f"{self.objective * 100:g}%"


SLOS: tuple[Slo, ...] = (
    Slo(
        name="chat-availability",
        alert_prefix="ChatAvailability",
        title="Chat answers",
        objective=0.999,
        bad='sum(rate(helpline_engine_requests_total{outcome=~"error|timeout|circuit_open"}[{window}]))',
        # a prompt longer than the model's context is the caller's error, not an outage
        total='sum(rate(helpline_engine_requests_total{outcome!="context_overflow"}[{window}]))',
        description="customer messages get an answer from the engine; a retry that succeeded counts as good",
        runbook="docs/runbooks.md#chat-availability-slo",
    ),
    Slo(
        name="http-errors",
        alert_prefix="GatewayErrors",
        title="Gateway 5xx",
        objective=0.999,
        bad='sum(rate(helpline_http_requests_total{service="gateway", status=~"5.."}[{window}]))',
        total='sum(rate(helpline_http_requests_total{service="gateway"}[{window}]))',
        description="requests to the public gateway are answered without a 5xx; 429 and other 4xx are the caller's",
        runbook="docs/runbooks.md#gateway-5xx-slo",
    ),
    Slo(
        name="ttft-latency",
        alert_prefix="TimeToFirstToken",
        title="Time to first token",
        objective=0.99,
        bad=(
            "sum(rate(helpline_time_to_first_token_seconds_count[{window}]))"
            f' - sum(rate(helpline_time_to_first_token_seconds_bucket{{le="{TTFT_SLO_SECONDS:g}"}}[{{window}}]))'
        ),
        total="sum(rate(helpline_time_to_first_token_seconds_count[{window}]))",
        description="answers reach the customer's first token within 500 ms (p99 under 500 ms)",
        runbook="docs/runbooks.md#time-to-first-token-slo",
    ),
)


def _ratio_rule(slo: Slo, window: str) -> dict[str, Any]:
    expr = f"({slo.bad.replace('{window}', window)})\n/\n({slo.total.replace('{window}', window)})"
    return {"record": ERROR_RATIO.format(window=window), "expr": expr, "labels": {SLO_LABEL: slo.name}}


def _selector(slo: Slo, window: str) -> str:
    return f'{ERROR_RATIO.format(window=window)}{{{SLO_LABEL}="{slo.name}"}}'


def _burn_condition(slo: Slo, row: BurnRateAlert) -> str:
    threshold = f"({row.factor:g} * {slo.budget:g})"
    return f"({_selector(slo, row.long_window)} > {threshold} and {_selector(slo, row.short_window)} > {threshold})"


def _burn_alert(slo: Slo, severity: str) -> dict[str, Any]:
    rows = [row for row in BURN_RATE_ALERTS if row.severity == severity]
    speed = "fast" if severity == "critical" else "steadily"
    windows = " or ".join(f"{row.long_window}/{row.short_window} at {row.factor:g}x" for row in rows)
    return {
        "alert": f"{slo.alert_prefix}ErrorBudgetBurn",
        "expr": "\n or\n".join(_burn_condition(slo, row) for row in rows),
        # the short windows already prove the burn is current; waiting longer only delays the page
        "for": "2m" if severity == "critical" else "15m",
        "labels": {"severity": severity, SLO_LABEL: slo.name},
        "annotations": {
            "summary": f"{slo.title}: error budget burning {speed} ({slo.objective_percent} SLO)",
            "description": (
                f"SLO {slo.name}: {slo.objective_percent} of {slo.description}. The {BUDGET_PERIOD} error budget is "
                f"burning {speed} ({windows}); error ratio over the long window: {{{{ $value | humanizePercentage }}}}."
            ),
            "runbook": slo.runbook,
        },
    }


def slo_rule_groups(slos: tuple[Slo, ...] = SLOS) -> dict[str, Any]:
    """The rule file: per SLO, one group of ratio recordings and its two burn-rate alerts."""
    groups = []
    for slo in slos:
        recordings = [_ratio_rule(slo, window) for window in WINDOWS]
        recordings.append(
            {
                # the budget period as a mean of 5m ratios: cheap to evaluate every interval (a 30d rate() over raw
                # counters would read a month of samples each time); traffic-weighted enough at our volumes
                "record": ERROR_RATIO.format(window=BUDGET_PERIOD),
                "expr": f"avg_over_time({_selector(slo, '5m')}[{BUDGET_PERIOD}])",
                "labels": {SLO_LABEL: slo.name},
            }
        )
        recordings.append({"record": ERROR_BUDGET, "expr": f"vector({slo.budget:g})", "labels": {SLO_LABEL: slo.name}})
        recordings.append(
            {
                "record": BUDGET_REMAINING,
                "expr": f"1 - ({_selector(slo, BUDGET_PERIOD)} / on({SLO_LABEL}) {ERROR_BUDGET})",
                "labels": {SLO_LABEL: slo.name},
            }
        )
        alerts = [_burn_alert(slo, "critical"), _burn_alert(slo, "warning")]
        groups.append({"name": f"slo-{slo.name}", "rules": [*recordings, *alerts]})
    return {"groups": groups}


HEADER = (
    "# Generated by `python -m infra.platform.alerts.slos --write` from infra/platform/alerts/slos.py: edit that.\n"
)


class _RuleFileDumper(yaml.SafeDumper):
    """Multi-line expressions as literal blocks, the way people write rule files."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_RuleFileDumper.add_representer(str, _str)


def render_rule_file() -> str:
    return HEADER + yaml.dump(slo_rule_groups(), Dumper=_RuleFileDumper, sort_keys=False, width=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write or check slo.rules.yaml")
    parser.add_argument("--write", action="store_true", help="rewrite the rule file")
    args = parser.parse_args(argv)
    wanted = render_rule_file()
    if args.write:
        RULE_FILE.write_text(wanted)
        return 0
    if not RULE_FILE.exists() or RULE_FILE.read_text() != wanted:
        print(f"stale: {RULE_FILE.name}; run `python -m infra.platform.alerts.slos --write`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
