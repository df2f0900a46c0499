"""Server-Sent Events: framing for our streams, heartbeats for idle proxies, an incremental parser for relays.

Framing follows the WHATWG EventSource format: ``event: <name>\\ndata: <json>\\n\\n``. The parser is what a
relay (the gateway charging tokens from the ``done`` event) uses to look inside a stream it forwards byte for
byte: it accepts any chunking, ``\\n``/``\\r\\n``/``\\r`` line endings, multi-line data and comments.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel

SSE_MEDIA_TYPE = "text/event-stream"
#: Headers every SSE response sends: no caching, and no buffering by nginx-style proxies (the ingress).
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
HEARTBEAT = b": keep-alive\n\n"


def format_event(event: str, data: BaseModel | bytes | str | dict[str, Any]) -> bytes:
    """One SSE event. ``data`` must serialise to a single line (JSON does); models are dumped as JSON."""
    if isinstance(data, BaseModel):
        payload = data.model_dump_json().encode()
    elif isinstance(data, dict):
        payload = orjson.dumps(data)
    elif isinstance(data, str):
        payload = data.encode()
    else:
        payload = data
    if b"\n" in payload or b"\r" in payload:
        raise ValueError("SSE data must be a single line (serialise it as JSON)")
    return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"


def format_comment(text: str = "") -> bytes:
    """A comment line: ignored by clients, keeps idle connections open through proxies."""
    return b": " + text.encode() + b"\n\n" if text else HEARTBEAT


@dataclass(frozen=True)
class SSEEvent:
    event: str
    data: str
    id: str | None = None

    def json(self) -> Any:
        return orjson.loads(self.data)


class SSEParser:
    """Incremental SSE parser: ``feed(chunk)`` returns the events completed by that chunk."""

    def __init__(self) -> None:
        self._buffer = b""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._pending_cr = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the \n of a \r\n split across chunks
        self._pending_cr = chunk.endswith(b"\r")
        buffer = self._buffer + chunk
        lines = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        self._buffer = lines.pop()  # the unterminated tail, completed by a later chunk
        events: list[SSEEvent] = []
        for line in lines:
            event = self._line(line.decode())
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data and not self._event:
            return None
        event = SSEEvent(event=self._event or "message", data="\n".join(self._data), id=self._id)
        self._event, self._data = "", []
        return event


async def with_heartbeats(source: AsyncIterator[bytes], interval: float) -> AsyncIterator[bytes]:
    """Yield ``source``'s chunks, plus a comment whenever it is silent for ``interval`` seconds.

    Load balancers drop connections idle for 60 s; a slow first token or an agent typing must not end the
    stream. The pending read is never cancelled by a heartbeat (only when the consumer stops).
    """
    iterator = aiter(source)
    pending: asyncio.Future[bytes] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield HEARTBEAT
                continue
            try:
                chunk = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield chunk
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
