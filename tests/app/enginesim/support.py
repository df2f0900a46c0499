"""Helpers for the process-level simulator tests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from app.enginesim.launcher import EngineSimProcess

SERVED = "helpline-chat"


def metric(engine: EngineSimProcess, name: str, **labels: str) -> float:
    """The value of one series of the engine's /metrics (for this model, with these extra labels)."""
    wanted = {"model_name": SERVED, **labels}
    for family in text_string_to_metric_families(engine.metrics_text()):
        for sample in family.samples:
            if sample.name == name and wanted.items() <= sample.labels.items():
                return sample.value
    raise AssertionError(f"{name}{labels} is not exported")
