"""CPU time spent by groups of processes over a phase, from the kernel's accounting (psutil).

Sampling user + system time at the start and end of a phase counts every cycle the processes used, whatever
they were doing (serving, parsing, logging, garbage collection), and nothing the rest of the machine used. The
groups are listed again at the end: a process born during the phase (a Postgres backend for a new pooled
connection) counts all its time; one gone before the end (a crashed engine) counts nothing after its start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import psutil

ProcessLister = Callable[[], list[psutil.Process]]


def cpu_seconds(process: psutil.Process) -> float | None:
    try:
        times = process.cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return times.user + times.system


def by_pid(pids: Iterable[int]) -> ProcessLister:
    fixed = list(pids)

    def listing() -> list[psutil.Process]:
        processes = []
        for pid in fixed:
            try:
                processes.append(psutil.Process(pid))
            except psutil.NoSuchProcess:
                continue
        return processes

    return listing


def by_name(*names: str) -> ProcessLister:
    """Every process whose executable name is one of ``names`` (``postgres`` backends, ``redis-server``)."""

    def listing() -> list[psutil.Process]:
        return [process for process in psutil.process_iter(["name"]) if process.info.get("name") in names]

    return listing


@dataclass
class CpuMeter:
    """CPU seconds of named groups of processes between ``start()`` and ``stop()``."""

    groups: Mapping[str, ProcessLister]
    _start: dict[str, dict[int, float]] = field(default_factory=dict)

    def _read(self) -> dict[str, dict[int, float]]:
        snapshot: dict[str, dict[int, float]] = {}
        for group, listing in self.groups.items():
            readings = {process.pid: cpu_seconds(process) for process in listing()}
            snapshot[group] = {pid: seconds for pid, seconds in readings.items() if seconds is not None}
        return snapshot

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> dict[str, float]:
        """CPU seconds used per group since ``start()``."""
        end = self._read()
        return {
            group: sum(max(0.0, seconds - self._start.get(group, {}).get(pid, 0.0)) for pid, seconds in pids.items())
            for group, pids in end.items()
        }
