"""Deltas waiting in a turn's queue go out as one event: per-event work stops growing with the backlog."""

from __future__ import annotations

import asyncio

from app.chat.turns import HEARTBEAT, TurnEvent, coalesce_deltas


def queued(*events: TurnEvent) -> asyncio.Queue[TurnEvent]:
    queue: asyncio.Queue[TurnEvent] = asyncio.Queue()
    for event in events:
        queue.put_nowait(event)
    return queue


async def test_a_consumer_that_keeps_up_gets_every_token_alone() -> None:
    queue = queued()
    assert coalesce_deltas(("delta", "Hel"), queue) == (("delta", "Hel"), None)


async def test_waiting_deltas_are_joined_in_order() -> None:
    queue = queued(("delta", "lo"), ("delta", " there"))
    assert coalesce_deltas(("delta", "Hel"), queue) == (("delta", "Hello there"), None)
    assert queue.empty()


async def test_the_event_that_ends_the_run_is_handed_back_not_lost() -> None:
    done: TurnEvent = ("heartbeat", None)
    queue = queued(("delta", "lo"), HEARTBEAT, ("delta", "later"))
    assert coalesce_deltas(("delta", "Hel"), queue) == (("delta", "Hello"), done)
    assert queue.get_nowait() == ("delta", "later")  # what follows the handed-back event stays queued
