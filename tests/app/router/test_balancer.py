"""Replica choice: session affinity, least-loaded without a session, removal and ejection, bounded load."""

from __future__ import annotations

import pytest

from app.router.balancer import ModelPool
from app.router.rendezvous import rank

A, B, C = "http://10.0.0.1:8000", "http://10.0.0.2:8000", "http://10.0.0.3:8000"


def pool(*urls: str, balance_factor: float = 0.0) -> ModelPool:
    result = ModelPool("chat", balance_factor=balance_factor)
    result.set_discovered(urls)
    return result


def test_same_session_same_replica_every_turn() -> None:
    replicas = pool(A, B, C)
    picks = {replicas.plan("conv-1")[0] for _ in range(20)}
    assert picks == {rank("conv-1", [A, B, C])[0]}


def test_plan_lists_every_ready_replica_in_session_preference_order() -> None:
    assert pool(A, B, C).plan("conv-1") == rank("conv-1", [A, B, C])


def test_removed_replica_is_dropped_at_once() -> None:
    replicas = pool(A, B, C)
    home = replicas.plan("conv-1")[0]
    replicas.set_discovered([url for url in (A, B, C) if url != home])
    plan = replicas.plan("conv-1")
    assert home not in plan
    assert plan[0] == rank("conv-1", [A, B, C])[1]


def test_ejected_replica_gets_no_requests_until_readmitted() -> None:
    replicas = pool(A, B)
    assert replicas.eject(A)
    assert not replicas.eject(A)  # already ejected: nothing changes
    assert all(A not in replicas.plan(f"conv-{i}") for i in range(50))
    assert replicas.plan(None) == [B]
    assert replicas.readmit(A)
    assert not replicas.readmit(A)
    assert any(replicas.plan(f"conv-{i}")[0] == A for i in range(50))


def test_rediscovery_keeps_ejection_and_load() -> None:
    replicas = pool(A, B)
    replicas.eject(A)
    replicas.acquire(B)
    replicas.set_discovered([A, B, C])
    assert replicas.is_ejected(A)
    assert {b.url: b.in_flight for b in replicas.backends()} == {A: 0, B: 1, C: 0}


def test_eject_and_release_of_unknown_replica_are_ignored() -> None:
    replicas = pool(A)
    assert not replicas.eject(B)
    assert not replicas.readmit(B)
    replicas.acquire(B)
    replicas.release(B)
    replicas.release(A)  # never below zero
    assert replicas.backends()[0].in_flight == 0


def test_no_ready_replica_means_an_empty_plan() -> None:
    empty = ModelPool("chat")
    assert not empty.synced
    assert empty.plan("conv") == []
    empty.set_discovered([])
    assert empty.synced
    assert empty.plan(None) == []


def test_without_session_the_least_loaded_replica_goes_first() -> None:
    replicas = pool(A, B, C)
    replicas.acquire(A)
    replicas.acquire(A)
    replicas.acquire(B)
    assert replicas.plan(None) == [C, B, A]


def test_without_session_idle_replicas_share_the_work() -> None:
    replicas = pool(A, B, C)
    firsts = [replicas.plan(None)[0] for _ in range(6)]
    assert set(firsts) == {A, B, C}


def test_bounded_load_moves_a_session_off_an_overloaded_replica() -> None:
    replicas = pool(A, B, balance_factor=1.5)
    home, second = rank("conv-1", [A, B])
    for _ in range(4):
        replicas.acquire(home)
    # 4 in flight, 2 replicas: the limit is ceil(1.5 * 5 / 2) = 4, and home already carries 4.
    assert replicas.plan("conv-1") == [second, home]
    replicas.release(home)
    replicas.release(home)
    # 2 in flight: the limit is ceil(1.5 * 3 / 2) = 3, home is below it again.
    assert replicas.plan("conv-1") == [home, second]


def test_pure_hashing_ignores_load() -> None:
    replicas = pool(A, B)
    home = rank("conv-1", [A, B])[0]
    for _ in range(100):
        replicas.acquire(home)
    assert replicas.plan("conv-1")[0] == home


def test_balance_factor_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ModelPool("chat", balance_factor=0.5)


def test_affinity_memory_reports_hit_and_moved() -> None:
    replicas = ModelPool("chat", affinity_memory=2)
    assert replicas.remember("s1", A) is None
    assert replicas.remember("s1", A) == "hit"
    assert replicas.remember("s1", B) == "moved"
    replicas.remember("s2", A)
    replicas.remember("s3", A)  # evicts s1, the least recently used
    assert replicas.remember("s1", B) is None
