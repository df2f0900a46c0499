"""Resident memory of the stack's processes: at rest and after each load level (what pods' memory requests need).

Resident set size (RSS) from the kernel (psutil), in MiB: the pages a process holds in RAM, shared library pages
included, as the container's working-set metric counts them near enough for sizing a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psutil

MIB = 1024 * 1024


def resident_mib(pids: Mapping[str, int]) -> dict[str, float]:
    """RSS per named process, in MiB (a process gone is left out)."""
    readings: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            readings[name] = round(psutil.Process(pid).memory_info().rss / MIB, 1)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return readings


def render_memory(snapshots: Mapping[str, Mapping[str, float]]) -> str:
    """A Markdown table: one row per process, one column per snapshot ("at rest", "after 128", ...)."""
    columns = list(snapshots)
    names = sorted({name for snapshot in snapshots.values() for name in snapshot})
    lines = [
        "| process | " + " | ".join(f"RSS MiB {column}" for column in columns) + " |",
        "| --- | " + " | ".join("---:" for _ in columns) + " |",
    ]
    for name in names:
        cells = [_cell(snapshots[column].get(name)) for column in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}"
