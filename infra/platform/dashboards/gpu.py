"""GPUs: utilisation, memory, temperature and power per card, from NVIDIA DCGM's exporter."""

from __future__ import annotations

from collections.abc import Sequence

from infra.platform.dashboards.builder import Dashboard, Panel, PanelKind, Query, Row, Variable

NODE = 'Hostname=~"$Hostname"'
BY_CARD = "Hostname, gpu"
CARD_LEGEND = "{{Hostname}} GPU {{gpu}}"


def _per_card(
    title: str,
    description: str,
    expr: str,
    unit: str,
    *,
    min: float | None = None,
    max: float | None = None,
    thresholds: Sequence[tuple[float, str]] = (),
    kind: PanelKind = "timeseries",
) -> Panel:
    """One series per card (node and GPU index): DCGM reports each card once per exporter pod."""
    query = Query(f"max by ({BY_CARD}) ({expr})", CARD_LEGEND)
    return Panel(title, description, [query], unit=unit, kind=kind, min=min, max=max, thresholds=thresholds)


def dashboard() -> Dashboard:
    usage = Row(
        "Usage",
        [
            _per_card(
                "Utilisation",
                "Time the GPU was busy; vLLM under load keeps it high.",
                f"DCGM_FI_DEV_GPU_UTIL{{{NODE}}}",
                "percent",
                min=0,
                max=100,
            ),
            _per_card(
                "Memory used",
                "Framebuffer in use; vLLM reserves --gpu-memory-utilization (90%) at start.",
                f"DCGM_FI_DEV_FB_USED{{{NODE}}} / (DCGM_FI_DEV_FB_USED{{{NODE}}} + DCGM_FI_DEV_FB_FREE{{{NODE}}})",
                "percentunit",
                min=0,
                max=1,
                thresholds=[(0.97, "red")],
            ),
            _per_card(
                "Memory used (MiB)",
                "Absolute framebuffer use, as DCGM reports it.",
                f"DCGM_FI_DEV_FB_USED{{{NODE}}}",
                "decmbytes",
            ),
        ],
    )
    health = Row(
        "Health",
        [
            _per_card(
                "Temperature",
                "Above 85 °C the card throttles (GPUTemperatureHigh).",
                f"DCGM_FI_DEV_GPU_TEMP{{{NODE}}}",
                "celsius",
                thresholds=[(85, "red")],
            ),
            _per_card("Power", "Board power draw.", f"DCGM_FI_DEV_POWER_USAGE{{{NODE}}}", "watt"),
            _per_card(
                "Last XID error",
                "The most recent XID code (0 = none); 48, 79 and similar mean a failing card: drain the node.",
                f"DCGM_FI_DEV_XID_ERRORS{{{NODE}}}",
                "none",
                kind="stat",
            ),
        ],
    )
    return Dashboard(
        uid="helpline-gpu",
        title="Helpline / GPU",
        description="NVIDIA GPUs of the GPU pool: utilisation, memory, temperature, power, XID errors.",
        rows=[usage, health],
        variables=[Variable("Hostname", "Node", "DCGM_FI_DEV_GPU_UTIL")],
    )
