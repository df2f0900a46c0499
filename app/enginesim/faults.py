"""Fault injection: the failures an engine really has, on demand, for the next request(s).

- ``crash``: the process exits (status 1) when the request arrives, or after ``after_tokens`` streamed tokens.
- ``hang``: the request is accepted and holds a slot but never produces a token (or none after ``after_tokens``).
- ``slow``: the request's latencies (TTFT and inter-token) are multiplied by ``factor``.
- ``error``: generation fails after ``after_tokens`` tokens: a 500 body, or ``data: {"error": ...}`` mid-stream.
- ``dead``: the engine core dies, as vLLM 0.32 reports it: streams in flight end with ``data: {"error": ...}``
  (EngineDeadError, 500), requests get that 500, and the API server shuts down (the process exits; the pod
  restarts). Nothing revives it. For an engine that keeps answering 500, arm ``error`` with ``count=None``.

Each fault applies to the next ``count`` generation requests (``None``: every request until cleared), in the
order they were added; ``slow`` combines with the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, cast, get_args

FaultKind = Literal["crash", "hang", "slow", "error", "dead"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

#: Faults that decide a request's fate; at most one applies to a request.
TerminalKind = Literal["crash", "hang", "error"]


@dataclass(frozen=True)
class FaultSpec:
    kind: FaultKind
    after_tokens: int = 0
    factor: float = 1.0
    #: Requests it applies to; None = all of them until cleared. Ignored for ``dead``.
    count: int | None = 1

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if self.after_tokens < 0:
            raise ValueError(f"after_tokens must be >= 0, got {self.after_tokens}")
        if not math.isfinite(self.factor) or self.factor <= 0:
            raise ValueError(f"factor must be a positive number, got {self.factor}")
        if self.count is not None and self.count < 1:
            raise ValueError(f"count must be >= 1 or null (every request), got {self.count}")

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "after_tokens": self.after_tokens, "factor": self.factor, "count": self.count}


@dataclass(frozen=True)
class RequestFaults:
    """What the faults decided for one request."""

    slow_factor: float = 1.0
    terminal: TerminalKind | None = None
    after_tokens: int = 0


NO_FAULTS = RequestFaults()


def fault_kind(text: str) -> FaultKind:
    if text not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {text!r}; expected one of {', '.join(FAULT_KINDS)}")
    return cast("FaultKind", text)


def _terminal(kind: FaultKind) -> TerminalKind:
    if kind in ("crash", "hang", "error"):
        return kind
    raise ValueError(f"{kind} is not a per-request terminal fault")


def parse_fault_flag(text: str) -> FaultSpec:
    """Parse ``--sim-fault kind[:key=value,...]``, e.g. ``crash:after_tokens=5`` or ``slow:factor=3,count=all``."""
    kind, _, options = text.partition(":")
    values: dict[str, str] = {}
    for option in filter(None, options.split(",")):
        key, sep, value = option.partition("=")
        if not sep:
            raise ValueError(f"fault option {option!r} must be key=value")
        values[key.strip()] = value.strip()
    unknown = set(values) - {"after_tokens", "factor", "count"}
    if unknown:
        raise ValueError(f"unknown fault option(s) {', '.join(sorted(unknown))}; use after_tokens, factor, count")
    count_text = values.get("count", "1")
    return FaultSpec(
        kind=fault_kind(kind.strip()),
        after_tokens=int(values.get("after_tokens", "0")),
        factor=float(values.get("factor", "1")),
        count=None if count_text in ("all", "none", "null") else int(count_text),
    )


class FaultBoard:
    """The faults armed on one engine; consulted once per generation request."""

    def __init__(self, initial: tuple[FaultSpec, ...] = ()) -> None:
        self.dead = False
        self._pending: list[FaultSpec] = []
        for spec in initial:
            self.add(spec)

    @property
    def pending(self) -> tuple[FaultSpec, ...]:
        return tuple(self._pending)

    def add(self, spec: FaultSpec) -> None:
        if spec.kind == "dead":
            self.dead = True
        else:
            self._pending.append(spec)

    def clear(self) -> None:
        """Disarm everything and bring a dead engine back to life."""
        self.dead = False
        self._pending.clear()

    def take(self) -> RequestFaults:
        """The faults for the request arriving now; each one used is counted down."""
        if not self._pending:
            return NO_FAULTS
        slow_factor = 1.0
        terminal: FaultSpec | None = None
        remaining: list[FaultSpec] = []
        for spec in self._pending:
            applies = spec.kind == "slow" or terminal is None
            if applies and spec.kind == "slow":
                slow_factor *= spec.factor
            elif applies:
                terminal = spec
            if applies and spec.count is not None:
                if spec.count > 1:
                    remaining.append(replace(spec, count=spec.count - 1))
            else:
                remaining.append(spec)
        self._pending = remaining
        if terminal is None:
            return RequestFaults(slow_factor=slow_factor)
        return RequestFaults(
            slow_factor=slow_factor, terminal=_terminal(terminal.kind), after_tokens=terminal.after_tokens
        )
