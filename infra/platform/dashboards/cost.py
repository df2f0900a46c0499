"""Cost: what the GPU pool costs now, per million generated tokens, per conversation and per tenant, and idle GPUs.

Reads the recording rules of ``infra/platform/alerts/cost.rules.yaml``; the price per GPU-hour is the stack's
(``gpuHourPrice``, or the dated list price: docs/capacity.md).
"""

from __future__ import annotations

from infra.platform.dashboards.builder import Dashboard, Panel, Query, Row


def _single(title: str, description: str, expr: str, unit: str) -> Panel:
    return Panel(title, description, [Query(expr, title)], unit=unit, kind="stat")


def dashboard() -> Dashboard:
    now = Row(
        "Spend",
        [
            _single(
                "GPU spend per hour",
                "GPUs the nodes offer x the price per GPU-hour.",
                "helpline:gpu_spend_dollars_per_hour",
                "currencyUSD",
            ),
            _single(
                "Last 24 hours",
                "Average hourly spend over 24 hours x 24; GpuDailySpendOverBudget compares it with gpuDailyBudget.",
                "helpline:gpu_spend_dollars:24h",
                "currencyUSD",
            ),
            _single("Daily budget", "gpuDailyBudget (0: none).", "helpline:gpu_daily_budget_dollars", "currencyUSD"),
            _single(
                "Price per GPU-hour",
                "From gpuHourPrice, or the list price of the cloud and GPU type.",
                "helpline:gpu_hour_price_dollars",
                "currencyUSD",
            ),
        ],
    )
    unit_costs = Row(
        "Unit costs",
        [
            Panel(
                "Per million generated tokens",
                "GPU spend over the tokens the engines generated (5m rate).",
                [Query("helpline:cost_per_million_generated_tokens_dollars", "USD per 1M tokens")],
                unit="currencyUSD",
            ),
            Panel(
                "Per conversation",
                "Spend of the last hour over the conversations started in it.",
                [Query("helpline:cost_per_conversation_dollars", "USD per conversation")],
                unit="currencyUSD",
            ),
            Panel(
                "Per tenant (per hour)",
                "Spend shared by each tenant's share of the completion tokens.",
                [Query("topk(10, tenant:helpline_gpu_spend_dollars_per_hour)", "{{tenant}}")],
                unit="currencyUSD",
            ),
        ],
    )
    idle = Row(
        "Idle GPUs",
        [
            Panel(
                "Idle share",
                "GPUs under 5% utilisation (DCGM); GpusMostlyIdle fires above 80% for 6 hours.",
                [Query("helpline:gpu_idle_ratio", "idle")],
                unit="percentunit",
                min=0,
                max=1,
            ),
            Panel(
                "Idle spend per hour",
                "What the idle GPUs cost.",
                [Query("helpline:gpu_idle_dollars_per_hour", "USD per hour")],
                unit="currencyUSD",
            ),
            Panel(
                "Generated tokens per second",
                "All engines.",
                [Query("helpline:generated_tokens:rate5m", "tokens/s")],
                unit="short",
            ),
        ],
    )
    return Dashboard(
        uid="helpline-cost",
        title="Helpline / Cost",
        description="GPU spend, cost per million tokens, per conversation and per tenant, idle GPU time.",
        rows=[now, unit_costs, idle],
        variables=[],
    )
