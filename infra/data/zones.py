"""Where a managed Redis's nodes go: the primary, and in HA its replica in another zone."""

from __future__ import annotations

from collections.abc import Sequence


def replica_zones(zones: Sequence[str], *, highly_available: bool) -> list[str]:
    """``[primary]``, or ``[primary, replica]`` in two different zones: a zone outage never takes both."""
    if highly_available and len(set(zones[:2])) < 2:
        raise ValueError("a highly available Redis needs at least two zones for the primary and its replica")
    if not zones:
        raise ValueError("a Redis needs a zone for its primary")
    return list(zones[:2]) if highly_available else list(zones[:1])
