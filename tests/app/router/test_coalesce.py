"""The router's stream coalescing: nothing before the first answer text is held, later bytes are joined per
interval, the end and errors are never delayed or lost, and a caller leaving stops the upstream read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.router.coalesce import coalesced

ROLE = b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'


def token(text: str) -> bytes:
    return b'data: {"choices":[{"delta":{"content":"' + text.encode() + b'"}}]}\n\n'


async def scripted(*steps: bytes | asyncio.Event | float | Exception) -> AsyncIterator[bytes]:
    """Yields bytes, waits for events, sleeps for floats, raises exceptions, in order."""
    for step in steps:
        if isinstance(step, bytes):
            yield step
        elif isinstance(step, asyncio.Event):
            await step.wait()
        elif isinstance(step, Exception):
            raise step
        else:
            await asyncio.sleep(step)


async def test_zero_interval_relays_every_chunk_unchanged() -> None:
    chunks = [ROLE, token("a"), token("b"), b"data: [DONE]\n\n"]
    assert [chunk async for chunk in coalesced(scripted(*chunks), 0)] == chunks


async def test_nothing_up_to_the_first_answer_text_is_held() -> None:
    after_role, after_first_token = asyncio.Event(), asyncio.Event()
    stream = coalesced(scripted(ROLE, after_role, token("Hi"), after_first_token, b"data: [DONE]\n\n"), 60.0)
    # Each goes on while the upstream is still waiting: a 60 s interval would show as a timeout here.
    assert await asyncio.wait_for(anext(stream), 2) == ROLE
    after_role.set()
    assert await asyncio.wait_for(anext(stream), 2) == token("Hi")
    after_first_token.set()
    assert await asyncio.wait_for(anext(stream), 2) == b"data: [DONE]\n\n"  # the end is not held either
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_tokens_after_the_first_are_joined_per_interval() -> None:
    tokens = [token(str(n)) for n in range(12)]
    # The first token goes on at once; the next eleven arrive 2 ms apart, within one 0.5 s interval.
    steps = [tokens[0]] + [step for chunk in tokens[1:] for step in (0.002, chunk)] + [0.6, b"data: [DONE]\n\n"]
    writes = [chunk async for chunk in coalesced(scripted(*steps), 0.5)]
    assert writes == [tokens[0], b"".join(tokens[1:]), b"data: [DONE]\n\n"]


async def test_bytes_before_a_break_are_delivered_then_the_error_raised() -> None:
    received: list[bytes] = []

    async def read_all() -> None:
        async for chunk in coalesced(scripted(token("a"), token("b"), ConnectionResetError("gone")), 0.5):
            received.append(chunk)

    with pytest.raises(ConnectionResetError):
        await read_all()
    assert b"".join(received) == token("a") + token("b")


async def test_a_caller_leaving_stops_reading_the_upstream() -> None:
    closed = asyncio.Event()
    forever = asyncio.Event()

    async def upstream() -> AsyncIterator[bytes]:
        try:
            yield token("a")
            await forever.wait()
            yield token("never")
        finally:
            closed.set()

    stream = coalesced(upstream(), 0.05)
    assert await anext(stream) == token("a")
    await stream.aclose()
    await asyncio.wait_for(closed.wait(), 2)
