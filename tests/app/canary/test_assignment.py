"""Variant assignment: new conversations split by weight, a conversation keeps its variant while the weight moves."""

from __future__ import annotations

import uuid

import pytest

from app.canary.assignment import CANARY, STABLE, Split, assign, shares

IDS = [str(uuid.UUID(int=i * 7919 + 1)) for i in range(20_000)]


@pytest.mark.parametrize("weight", [0.0, 0.05, 0.25, 0.5, 1.0])
def test_new_conversations_split_by_weight(weight: float) -> None:
    split = Split(weight)
    assert shares({c: assign(c, split) for c in IDS})[CANARY] == pytest.approx(weight, abs=0.01)


def test_a_conversation_keeps_its_variant_while_the_weight_grows_and_is_moved_only_by_a_rollback() -> None:
    first = {c: assign(c, Split(0.05)) for c in IDS[:2000]}
    later = {c: assign(c, Split(0.5), pinned=first[c]) for c in first}
    assert later == first
    rolled_back = {c: assign(c, Split(0.0), pinned=first[c]) for c in first}
    assert set(rolled_back.values()) == {STABLE}


def test_the_same_conversation_always_gets_the_same_variant() -> None:
    assert len({assign(IDS[42], Split(0.3)) for _ in range(5)}) == 1


def test_a_weight_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="outside 0-1"):
        Split(1.5)
