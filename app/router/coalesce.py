"""Fewer, larger writes behind the router: once an answer's text has begun, a stream's bytes go on at most every
``interval`` seconds.

An engine writes one SSE event per token, and every write then costs each hop behind the router (chat, the
gateway, the customer's connection) a read, a parse and a send: at ~80 tokens per answer that per-chunk work was
most of the CPU a turn costs. Joining the bytes that arrive within one interval divides it by the tokens per
interval, and changes nothing a client can see in the protocol: SSE events are framed by blank lines, whatever
the TCP chunking. Everything up to and including the first bytes that carry answer text goes on at once, so the
time to first token is untouched; a later token waits at most ``interval``, and the end of the stream goes on
as soon as it arrives. SGLang's ``--stream-interval`` makes the same trade inside the engine.

The upstream is read by its own task, so bytes keep arriving while a batch waits for its flush; an upstream
that breaks mid-stream has its bytes so far delivered first, then its error raised to the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio

#: The first non-empty answer text of a chat (``delta.content``) or completions (``text``) chunk.
_ANSWER_TEXT = re.compile(rb'"(?:content|text)":\s*"[^"]')


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class _End:
    """The upstream finished cleanly."""


_END = _End()
_Item = bytes | _Failed | _End


async def coalesced(chunks: AsyncIterator[bytes], interval: float) -> AsyncIterator[bytes]:
    """``chunks`` joined into at most one write per ``interval`` after the first answer text (see the module)."""
    if interval <= 0:
        async for chunk in chunks:
            yield chunk
        return
    queue: asyncio.Queue[_Item] = asyncio.Queue()
    ended = asyncio.Event()
    reader = asyncio.create_task(_pump(chunks, queue, ended), name="upstream reader")
    loop = asyncio.get_running_loop()
    text_started = False
    next_flush = 0.0
    try:
        while True:
            batch = [await queue.get()]
            if text_started and not ended.is_set() and (wait := next_flush - loop.time()) > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await ended.wait()  # the end of the stream goes on at once
            while not queue.empty():
                batch.append(queue.get_nowait())
            data = b"".join(item for item in batch if isinstance(item, bytes))
            if data:
                yield data
                text_started = text_started or _ANSWER_TEXT.search(data) is not None
                next_flush = loop.time() + interval
            for item in batch:
                if isinstance(item, _Failed):
                    raise item.error
                if item is _END:
                    return
    finally:
        reader.cancel()
        # Shielded: when the caller leaves, Starlette cancels through an anyio scope, which would interrupt this
        # wait too and leave the reader mid-read while the caller closes the upstream connection under it.
        with anyio.CancelScope(shield=True), contextlib.suppress(asyncio.CancelledError):
            await reader


async def _pump(chunks: AsyncIterator[bytes], queue: asyncio.Queue[_Item], ended: asyncio.Event) -> None:
    try:
        async for chunk in chunks:
            queue.put_nowait(chunk)
    except Exception as exc:  # handed to the consumer, which raises it after the bytes before it
        queue.put_nowait(_Failed(exc))
    else:
        queue.put_nowait(_END)
    ended.set()
