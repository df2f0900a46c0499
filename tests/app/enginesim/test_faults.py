"""The fault board: what applies to which request, and the command-line spelling."""

from __future__ import annotations

import pytest

from app.enginesim.faults import FaultBoard, FaultSpec, RequestFaults, parse_fault_flag


def test_a_fault_applies_to_the_next_request_only_by_default() -> None:
    board = FaultBoard()
    board.add(FaultSpec("crash", after_tokens=5))
    assert board.take() == RequestFaults(terminal="crash", after_tokens=5)
    assert board.take() == RequestFaults()


def test_counts_and_forever() -> None:
    board = FaultBoard((FaultSpec("error", after_tokens=2, count=2), FaultSpec("slow", factor=3, count=None)))
    assert board.take() == RequestFaults(slow_factor=3, terminal="error", after_tokens=2)
    assert board.take() == RequestFaults(slow_factor=3, terminal="error", after_tokens=2)
    assert board.take() == RequestFaults(slow_factor=3)
    assert board.take() == RequestFaults(slow_factor=3)
    board.clear()
    assert board.take() == RequestFaults()


def test_terminal_faults_queue_in_order_and_slow_factors_multiply() -> None:
    board = FaultBoard()
    for spec in (FaultSpec("hang"), FaultSpec("crash"), FaultSpec("slow", factor=2), FaultSpec("slow", factor=5)):
        board.add(spec)
    assert board.take() == RequestFaults(slow_factor=10, terminal="hang")
    assert board.take() == RequestFaults(terminal="crash")
    assert board.pending == ()


def test_dead_is_a_state_until_cleared() -> None:
    board = FaultBoard((FaultSpec("dead"),))
    assert board.dead
    assert board.take() == RequestFaults()
    assert board.dead
    board.clear()
    assert not board.dead


@pytest.mark.parametrize(
    ("flag", "spec"),
    [
        ("crash", FaultSpec("crash")),
        ("crash:after_tokens=5", FaultSpec("crash", after_tokens=5)),
        ("slow:factor=2.5,count=all", FaultSpec("slow", factor=2.5, count=None)),
        ("error:after_tokens=1,count=3", FaultSpec("error", after_tokens=1, count=3)),
        ("dead", FaultSpec("dead")),
    ],
)
def test_parse_fault_flag(flag: str, spec: FaultSpec) -> None:
    assert parse_fault_flag(flag) == spec


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("explode", "unknown fault kind"),
        ("crash:after=5", "unknown fault option"),
        ("crash:after_tokens", "must be key=value"),
        ("slow:factor=0", "factor must be a positive number"),
        ("error:count=0", "count must be >= 1"),
        ("crash:after_tokens=-1", "after_tokens must be >= 0"),
    ],
)
def test_parse_fault_flag_rejects_mistakes(flag: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fault_flag(flag)
