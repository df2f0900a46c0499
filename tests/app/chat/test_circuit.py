"""The circuit breaker's states, on a fake clock."""

from __future__ import annotations

import pytest

from app.chat.circuit import CircuitBreaker, CircuitOpenError, CircuitState


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def breaker(clock: Clock, changes: list[CircuitState] | None = None) -> CircuitBreaker:
    return CircuitBreaker(
        failure_threshold=3, reset_seconds=10, clock=clock, on_change=changes.append if changes is not None else None
    )


def test_opens_after_consecutive_failures_only(clock: Clock) -> None:
    circuit = breaker(clock)
    for _ in range(2):
        circuit.before_call()
        circuit.record_failure()
    circuit.before_call()
    circuit.record_success()  # a success resets the count
    for _ in range(2):
        circuit.before_call()
        circuit.record_failure()
    assert circuit.state == "closed"
    circuit.before_call()
    circuit.record_failure()
    assert circuit.state == "open"


def test_open_refuses_until_the_cool_down_then_lets_one_probe(clock: Clock) -> None:
    changes: list[CircuitState] = []
    circuit = breaker(clock, changes)
    for _ in range(3):
        circuit.before_call()
        circuit.record_failure()
    clock.now = 4
    with pytest.raises(CircuitOpenError) as refused:
        circuit.before_call()
    assert refused.value.retry_after == pytest.approx(6)
    clock.now = 10
    circuit.before_call()  # the probe
    assert circuit.state == "half_open"
    with pytest.raises(CircuitOpenError):
        circuit.before_call()  # only one probe at a time
    circuit.record_success()
    assert circuit.state == "closed"
    circuit.before_call()
    assert changes == ["open", "half_open", "closed"]


def test_a_failed_probe_opens_again(clock: Clock) -> None:
    circuit = breaker(clock)
    for _ in range(3):
        circuit.before_call()
        circuit.record_failure()
    clock.now = 10
    circuit.before_call()
    circuit.record_failure()
    assert circuit.state == "open"
    clock.now = 15
    with pytest.raises(CircuitOpenError):
        circuit.before_call()


def test_a_released_probe_lets_the_next_call_probe(clock: Clock) -> None:
    circuit = breaker(clock)
    for _ in range(3):
        circuit.before_call()
        circuit.record_failure()
    clock.now = 10
    circuit.before_call()
    circuit.release()  # the caller gave up: says nothing about the engine
    circuit.before_call()
    assert circuit.state == "half_open"
