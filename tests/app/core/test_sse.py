"""SSE framing, the incremental parser under any chunking, and heartbeats on idle streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.contracts.api import DeltaEvent
from app.core.sse import HEARTBEAT, SSEEvent, SSEParser, format_comment, format_event, with_heartbeats


def test_events_are_framed_with_name_and_single_line_json() -> None:
    assert (
        format_event("delta", DeltaEvent(text="hi\nthere"))
        == b'event: delta\ndata: {"event":"delta","text":"hi\\nthere"}\n\n'
    )
    assert format_event("done", {"a": 1}) == b'event: done\ndata: {"a":1}\n\n'
    assert format_comment() == HEARTBEAT
    with pytest.raises(ValueError, match="single line"):
        format_event("x", "two\nlines")


STREAM = (
    b": comment first\r\n"
    b'event: message\ndata: {"n":1}\n\n'
    b"data: line one\r\ndata: line two\r\n\r\n"
    b"event: done\rdata: {}\rid: 7\r\r"
)
EXPECTED = [
    SSEEvent(event="message", data='{"n":1}'),
    SSEEvent(event="message", data="line one\nline two"),
    SSEEvent(event="done", data="{}", id="7"),
]


def parse_in_chunks(data: bytes, cuts: list[int]) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    start = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        events += parser.feed(data[start:cut])
        start = cut
    return events


def test_the_parser_reads_every_line_ending_comments_and_multiline_data() -> None:
    assert SSEParser().feed(STREAM) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_the_parser_gives_the_same_events_however_the_bytes_are_split(cuts: list[int]) -> None:
    assert parse_in_chunks(STREAM, cuts) == EXPECTED


def test_events_parse_as_json() -> None:
    assert SSEParser().feed(format_event("done", {"usage": {"total_tokens": 5}}))[0].json() == {
        "usage": {"total_tokens": 5}
    }


async def test_heartbeats_fill_silences_and_chunks_pass_through_in_order() -> None:
    async def slow_source() -> AsyncIterator[bytes]:
        yield b"first"
        await asyncio.sleep(0.12)
        yield b"second"

    received = [chunk async for chunk in with_heartbeats(slow_source(), interval=0.05)]

    assert received[0] == b"first"
    assert received[-1] == b"second"
    assert received.count(HEARTBEAT) >= 1
    assert set(received[1:-1]) == {HEARTBEAT}


async def test_closing_the_heartbeat_stream_cancels_the_pending_read() -> None:
    cancelled = asyncio.Event()

    async def hanging_source() -> AsyncIterator[bytes]:
        try:
            await asyncio.sleep(3600)
            yield b"never"
        finally:
            cancelled.set()

    stream = with_heartbeats(hanging_source(), interval=0.01)
    assert await anext(stream) == HEARTBEAT
    await stream.aclose()

    await asyncio.wait_for(cancelled.wait(), 1)
