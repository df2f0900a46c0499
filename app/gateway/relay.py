"""Pass-through of downstream streams: bytes go out as they come in; only what must be read is read.

``RelayResponse`` forwards a downstream body chunk by chunk and stops the downstream as soon as the client
disconnects (even while waiting for the next chunk), then runs its close callback exactly once, shielded
from cancellation: the stream lease is released and the tokens are charged however the stream ends.
The watchers look inside the stream for the two things the gateway needs: the first token (time to first
token as the customer sees it) and the final usage (token charging).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from typing import Any, Protocol

import anyio
import httpx
import orjson
from pydantic import BaseModel
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from app.core.logging import get_logger
from app.core.metrics import METRICS
from app.core.sse import SSE_HEADERS, SSE_MEDIA_TYPE, SSEParser
from app.gateway.components import Gateway
from app.gateway.model_call import ModelCall

_NON_EMPTY_CONTENT = re.compile(r'"content":\s*"[^"]')

log = get_logger(__name__)

OnClose = Callable[[bool], Awaitable[None]]
FirstToken = Callable[[], None]


class RelayResponse(StreamingResponse):
    """A streaming response that notices a client disconnect at once and always runs ``on_close``."""

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        *,
        on_close: OnClose,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str = SSE_MEDIA_TYPE,
    ) -> None:
        super().__init__(
            chunks, status_code=status_code, headers={**SSE_HEADERS, **(headers or {})}, media_type=media_type
        )
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        completed = False
        try:
            async with anyio.create_task_group() as group:

                async def stop_when_client_leaves() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(stop_when_client_leaves)
                await self.stream_response(send)
                completed = True
                group.cancel_scope.cancel()
        except OSError:  # the client went away between two chunks (the server refuses the next send)
            log.info("client_disconnected_mid_stream")
        finally:
            with anyio.CancelScope(shield=True):
                close = getattr(self.body_iterator, "aclose", None)
                if close is not None:
                    await close()
                await self.on_close(completed)


#: Characters per token when estimating relayed text (pessimistic, as chat's prompt estimate).
CHARS_PER_TOKEN = 3
#: ``{"event":"delta","text":""}``: what a turn's delta event adds around its text.
_DELTA_FRAMING = 26


class StreamRelay(Protocol):
    """Looks at (or reshapes) a stream as it passes and learns the tokens to charge."""

    total_tokens: int | None  # as the stream reported them; None: never reported

    @property
    def relayed_tokens(self) -> int:
        """An estimate of the answer tokens relayed (the charge when no usage was reported)."""
        ...

    def relay(self, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]: ...


async def relay_stream(
    gateway: Gateway,
    call: ModelCall,
    path: str,
    *,
    body: BaseModel | dict[str, Any],
    headers: Mapping[str, str],
    make_relay: Callable[[httpx.Response], StreamRelay],
) -> RelayResponse:
    """Open a stream on chat under the call's lease, reservation and engine slot, and relay it; when it ends,
    give them back and settle the reservation to the usage the stream reported. However the stream ends (an error
    before it starts included)."""
    resources = AsyncExitStack()
    try:
        upstream = await resources.enter_async_context(
            gateway.chat.stream("POST", path, json=body, headers={**headers, **call.headers, "Accept": SSE_MEDIA_TYPE})
        )
    except BaseException:
        await resources.aclose()
        await call.end(0)  # chat refused before any engine work
        raise
    relay = make_relay(upstream)

    async def on_close(_completed: bool) -> None:
        await resources.aclose()
        # No usage reported (the client left, the stream broke): charge the answer the client received.
        await call.end(relay.total_tokens if relay.total_tokens is not None else relay.relayed_tokens)

    return RelayResponse(relay.relay(upstream.aiter_raw()), on_close=on_close, status_code=upstream.status_code)


class TurnStreamWatcher:
    """Reads a conversation turn's SSE events (``message``, ``delta``*, ``done``|``error``) as they pass: the
    usage comes with ``done``, or with an ``error`` whose problem carries ``usage`` (chat adds it when known)."""

    def __init__(
        self, *, started_at: float, model: str, chargeable: bool = True, on_first_token: FirstToken | None = None
    ) -> None:
        self.started_at = started_at
        self.model = model
        self.on_first_token = on_first_token
        self.chargeable = chargeable  # false for a replayed turn: its tokens were charged the first time
        self.total_tokens: int | None = None if chargeable else 0
        self._relayed_chars = 0
        self._parser = SSEParser()
        self._first_token_seen = False
        self._finished = False

    def feed(self, chunk: bytes) -> None:
        if self._finished:
            return
        for event in self._parser.feed(chunk):
            if event.event == "delta":
                self._relayed_chars += len(event.data) - _DELTA_FRAMING  # no JSON parse per token
            if event.event == "delta" and not self._first_token_seen:
                self._first_token_seen = True
                observe_time_to_first_token(self.model, self.started_at, self.on_first_token)
            elif event.event == "done":
                if self.chargeable:
                    self.total_tokens = total_tokens_of((event.json().get("message") or {}).get("usage"))
                self._finished = True
            elif event.event == "error":
                usage = (event.json().get("problem") or {}).get("usage")
                if self.chargeable and usage is not None:
                    self.total_tokens = total_tokens_of(usage)
                self._finished = True

    @property
    def relayed_tokens(self) -> int:
        return -(-self._relayed_chars // CHARS_PER_TOKEN) if self.chargeable else 0

    async def relay(self, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in source:
            self.feed(chunk)
            yield chunk


class CompletionStreamRelay:
    """Relays an OpenAI-style stream (``data: {chunk}`` ... ``data: [DONE]``), reading the usage chunk.

    The gateway always asks for usage (it charges from it); when the client did not, the usage-only chunk is
    dropped, so the client sees exactly the stream it asked for.
    """

    def __init__(
        self, *, started_at: float, model: str, client_wants_usage: bool, on_first_token: FirstToken | None = None
    ) -> None:
        self.started_at = started_at
        self.model = model
        self.on_first_token = on_first_token
        self.client_wants_usage = client_wants_usage
        self.total_tokens: int | None = None
        self.relayed_tokens = 0  # chunks with content: the engine streams about one token per chunk
        self._parser = SSEParser()
        self._first_token_seen = False

    def _keep(self, data: str) -> bool:
        if _NON_EMPTY_CONTENT.search(data):
            self.relayed_tokens += 1
        if not self._first_token_seen and self.relayed_tokens:
            self._first_token_seen = True
            observe_time_to_first_token(self.model, self.started_at, self.on_first_token)
        if '"usage"' not in data or data == "[DONE]":
            return True
        chunk = orjson.loads(data)
        usage = chunk.get("usage") if isinstance(chunk, dict) else None
        if not usage:
            return True
        self.total_tokens = total_tokens_of(usage)
        return self.client_wants_usage or chunk.get("choices") != []

    async def relay(self, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for raw in source:
            kept = [
                b"data: " + event.data.encode() + b"\n\n" for event in self._parser.feed(raw) if self._keep(event.data)
            ]
            if kept:
                yield b"".join(kept)


def total_tokens_of(usage: Any) -> int:
    if not isinstance(usage, dict):
        return 0
    total = usage.get("total_tokens")
    if isinstance(total, int):
        return total
    return int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0)


def observe_time_to_first_token(model: str, started_at: float, on_first_token: FirstToken | None = None) -> None:
    METRICS.time_to_first_token_seconds.labels(service="gateway", model=model).observe(time.perf_counter() - started_at)
    if on_first_token is not None:
        on_first_token()
