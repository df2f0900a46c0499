"""A circuit breaker per model: stop calling an engine that keeps failing, and probe it again after a pause.

closed (calls pass; consecutive failures counted) --N failures--> open (calls refused at once, 503) --after
``reset_seconds``--> half-open (one probe call passes; the others are refused) --probe succeeds--> closed, or
--probe fails--> open again. Failing fast while the engine is down keeps threads, sockets and customers from
waiting on timeouts, and gives the engine room to recover.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

CircuitState = Literal["closed", "open", "half_open"]


class CircuitOpenError(Exception):
    """The circuit refuses the call; ``retry_after`` is the time until the next probe may pass."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"circuit open; next probe in {retry_after:.1f}s")
        self.retry_after = retry_after


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[CircuitState], None] | None = None,
    ) -> None:
        self._threshold = failure_threshold
        self._reset_seconds = reset_seconds
        self._clock = clock
        self._on_change = on_change
        self._state: CircuitState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> CircuitState:
        return self._state

    def before_call(self) -> None:
        """Raise ``CircuitOpenError`` unless a call may go out now (and mark a half-open probe as taken)."""
        if self._state == "open":
            waited = self._clock() - self._opened_at
            if waited < self._reset_seconds:
                raise CircuitOpenError(self._reset_seconds - waited)
            self._set("half_open")
        if self._state == "half_open":
            if self._probe_in_flight:
                raise CircuitOpenError(self._reset_seconds)
            self._probe_in_flight = True

    def trip(self) -> None:
        """Open now, whatever the count: the failure says the engine is gone (no replica is ready), not flaky."""
        self._probe_in_flight = False
        self._failures = max(self._failures, self._threshold)
        self._opened_at = self._clock()
        self._set("open")

    def record_success(self) -> None:
        self._failures = 0
        self._probe_in_flight = False
        if self._state != "closed":
            self._set("closed")

    def record_failure(self) -> None:
        self._probe_in_flight = False
        self._failures += 1
        if self._state == "half_open" or self._failures >= self._threshold:
            self._opened_at = self._clock()
            self._set("open")

    def release(self) -> None:
        """A call ended without saying anything about the engine (e.g. the caller gave up): free the probe."""
        self._probe_in_flight = False

    def _set(self, state: CircuitState) -> None:
        if state != self._state:
            self._state = state
            if self._on_change is not None:
                self._on_change(state)
