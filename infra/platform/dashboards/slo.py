"""SLO / error budget: one row per SLO of infra/platform/alerts/slos.py, read from its recording rules."""

from __future__ import annotations

from infra.platform.alerts.slos import (
    BUDGET_PERIOD,
    BUDGET_REMAINING,
    BURN_RATE_ALERTS,
    ERROR_BUDGET,
    ERROR_RATIO,
    SLO_LABEL,
    SLOS,
    Slo,
)
from infra.platform.dashboards.builder import Dashboard, Panel, Query, Row

#: Burn-rate windows shown, one per alerting long window.
BURN_WINDOWS = ("1h", "6h", "1d", "3d")


def _selector(slo: Slo) -> str:
    return f'{{{SLO_LABEL}="{slo.name}"}}'


def _row(slo: Slo) -> Row:
    selector = _selector(slo)
    return Row(
        f"{slo.title}: {slo.objective_percent} ({slo.name})",
        [
            Panel(
                f"Error budget left ({BUDGET_PERIOD})",
                f"Share of the {BUDGET_PERIOD} budget not yet spent: {slo.objective_percent} of {slo.description}.",
                [Query(f"{BUDGET_REMAINING}{selector}", "budget left")],
                unit="percentunit",
                kind="stat",
                width=6,
                # red once spent (the SLO is missed), orange in the last quarter
                base_colour="red",
                thresholds=[(0, "orange"), (0.25, "green")],
                min=-1,
                max=1,
            ),
            Panel(
                "Burn rate",
                "Error ratio divided by the budget: 1 spends it exactly over the period. Dashed lines: the "
                "alerting thresholds (14.4x and 6x page, 3x and 1x ticket).",
                [
                    Query(
                        f"{ERROR_RATIO.format(window=window)}{selector} / on({SLO_LABEL}) {ERROR_BUDGET}{selector}",
                        window,
                    )
                    for window in BURN_WINDOWS
                ],
                unit="x",
                width=10,
                thresholds=[
                    (row.factor, "red" if row.severity == "critical" else "orange") for row in BURN_RATE_ALERTS
                ],
            ),
            Panel(
                "Error ratio",
                f"Bad events over all events, 5-minute and {BUDGET_PERIOD} windows, against the budget.",
                [
                    Query(f"{ERROR_RATIO.format(window='5m')}{selector}", "5m"),
                    Query(f"{ERROR_RATIO.format(window=BUDGET_PERIOD)}{selector}", BUDGET_PERIOD),
                    Query(f"{ERROR_BUDGET}{selector}", "budget"),
                ],
                unit="percentunit",
                width=8,
            ),
        ],
    )


def dashboard() -> Dashboard:
    return Dashboard(
        uid="helpline-slo",
        title="Helpline / SLO and error budget",
        description="Each SLO's remaining error budget, burn rate against the alerting thresholds, and error ratio.",
        rows=[_row(slo) for slo in SLOS],
        time_from="now-7d",
    )
