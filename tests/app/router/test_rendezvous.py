"""Rendezvous hashing: stable, balanced, and minimal movement when replicas come and go."""

from __future__ import annotations

from collections import Counter

from app.router.rendezvous import rank, weight

REPLICAS = [f"http://10.0.0.{i}:8000" for i in range(1, 5)]
SESSIONS = [f"conversation-{i}" for i in range(4000)]


def first_choice(session: str, replicas: list[str]) -> str:
    return rank(session, replicas)[0]


def test_weight_is_pinned() -> None:
    # A fixed value, not Python's salted hash(): every router replica and every release must agree on it,
    # or two routers would send one conversation's turns to different engine replicas.
    assert weight("conversation-1", "http://10.0.0.1:8000") == 0x94A384CEC1F4AC88


def test_rank_is_a_permutation_independent_of_input_order() -> None:
    ranked = rank("conversation-7", REPLICAS)
    assert sorted(ranked) == sorted(REPLICAS)
    assert rank("conversation-7", list(reversed(REPLICAS))) == ranked


def test_sessions_spread_evenly() -> None:
    counts = Counter(first_choice(session, REPLICAS) for session in SESSIONS)
    fair = len(SESSIONS) / len(REPLICAS)
    assert all(abs(count - fair) < 0.1 * fair for count in counts.values()), counts


def test_removing_a_replica_moves_only_its_sessions_and_spreads_them() -> None:
    gone = REPLICAS[0]
    remaining = REPLICAS[1:]
    moved_to: Counter[str] = Counter()
    for session in SESSIONS:
        before = first_choice(session, REPLICAS)
        after = first_choice(session, remaining)
        if before != gone:
            assert after == before
        else:
            # The new home is the old second choice: what a retry picked when the replica failed.
            assert after == rank(session, REPLICAS)[1]
            moved_to[after] += 1
    assert len(moved_to) == len(remaining)
    assert min(moved_to.values()) > 0.2 * sum(moved_to.values())


def test_adding_a_replica_takes_only_the_sessions_it_wins() -> None:
    grown = [*REPLICAS, "http://10.0.0.9:8000"]
    moved = [s for s in SESSIONS if first_choice(s, grown) != first_choice(s, REPLICAS)]
    assert all(first_choice(s, grown) == "http://10.0.0.9:8000" for s in moved)
    assert abs(len(moved) - len(SESSIONS) / len(grown)) < 0.1 * len(SESSIONS) / len(grown)
