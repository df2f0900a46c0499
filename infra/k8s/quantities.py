"""Kubernetes resource quantities: the one place that knows how a memory quantity converts to MiB.

The stack config validates quantities (``stacks/config/serving.py``) and the engine builder adds the KV-offloading
buffer to them (``infra/serving/engine.py``); both read the units from here, so they cannot disagree on what may be
summed.
"""

from __future__ import annotations

import re

#: A plain Kubernetes quantity as the config accepts it: a number with an optional milli or binary suffix.
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti)?$")
#: Binary memory units a buffer in MiB can be added to, and their size in MiB.
MEMORY_UNITS_MI = {"Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}


def memory_mi(quantity: str) -> float | None:
    """``quantity`` in MiB when it is written in Mi, Gi or Ti; ``None`` for any other spelling."""
    unit = quantity[-2:]
    if unit not in MEMORY_UNITS_MI or not QUANTITY.match(quantity):
        return None
    return float(quantity[:-2]) * MEMORY_UNITS_MI[unit]


def add_gib(quantity: str, gib: float) -> str:
    """``quantity`` plus ``gib`` GiB, in whole MiB; raises ValueError for a quantity not in Mi, Gi or Ti."""
    base = memory_mi(quantity)
    if base is None:
        raise ValueError(f"memory {quantity!r} must be in {', '.join(MEMORY_UNITS_MI)} to add {gib:g} GiB to it")
    return f"{round(base + gib * 1024)}Mi"
