"""The two ways a benchmark turn is driven: straight at an engine replica, or as a customer through the gateway.

Both time a turn the same way: the clock starts just before the request is written and time to first token is
when the first chunk carrying answer text arrives (the engine's first non-empty ``delta.content``; the
gateway's first ``delta`` event), read from the raw byte stream as it arrives (``aiter_raw``: no buffering
between the socket and the parser). A turn ends with the engine's ``[DONE]`` or the gateway's ``done`` event; a
non-200 answer, an ``error`` event or a broken stream is a failed turn, counted and kept out of the latencies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson

from app.core.sse import SSEParser
from app.router.proxy import SESSION_HEADER


@dataclass(frozen=True)
class TurnSample:
    started: float  # perf_counter when the request was sent
    ttft: float | None  # seconds to the first answer text; None when the turn failed before it
    duration: float
    completion_tokens: int
    error: str | None = None
    retry_after: float | None = None  # set when the turn was shed (429 from admission control): not a failure

    @property
    def ok(self) -> bool:
        return self.error is None and self.ttft is not None

    @property
    def shed(self) -> bool:
        return self.retry_after is not None


class Conversation(Protocol):
    turns: int


class Driver(Protocol):
    name: str

    async def open(self, index: int) -> Conversation: ...

    async def turn(self, conversation: Conversation, text: str) -> TurnSample: ...


#: Longest a turn may take before the driver gives up on it. Streams carry heartbeats, so a stream that never
#: ends would never trip the HTTP read timeout: without this a hung answer would hang the benchmark.
TURN_DEADLINE_SECONDS = 120.0


def _failed(started: float, error: str, ttft: float | None = None) -> TurnSample:
    return TurnSample(started, ttft, time.perf_counter() - started, 0, error)


async def within_deadline(turn: Awaitable[TurnSample], started: float) -> TurnSample:
    try:
        async with asyncio.timeout(TURN_DEADLINE_SECONDS):
            return await turn
    except TimeoutError:
        return _failed(started, f"no end of stream within {TURN_DEADLINE_SECONDS:g} s")


# --- engine, direct ------------------------------------------------------------------------------------------
@dataclass
class EngineConversation:
    replica: str
    messages: list[dict[str, str]]
    turns: int = 0
    session_id: str = ""
    index: int = 0


@dataclass
class DirectDriver:
    """OpenAI chat completions against the replicas, each conversation pinned to one (as the router pins it).

    ``rotate_per_turn`` sends each turn of a conversation to the next replica instead (round-robin, what a plain
    load balancer does to one client's requests among many: never the replica of its last turn);
    ``send_session_id`` adds the router's session header, for a ``replicas`` list that is the router.
    """

    http: httpx.AsyncClient
    replicas: list[str]
    api_key: str
    model: str
    system_prompt: str
    temperature: float
    max_tokens: int
    name: str = "direct"
    rotate_per_turn: bool = False
    send_session_id: bool = False

    async def open(self, index: int) -> EngineConversation:
        replica = self.replicas[index % len(self.replicas)]
        return EngineConversation(
            replica=replica,
            messages=[{"role": "system", "content": self.system_prompt}],
            session_id=f"bench-{index}",
            index=index,
        )

    def _replica_for(self, conversation: EngineConversation) -> str:
        if self.rotate_per_turn:
            # Per conversation, not one counter for all: with N conversations in lockstep a shared counter sends
            # each conversation back to the same replica whenever N is a multiple of the replicas.
            return self.replicas[(conversation.index + conversation.turns) % len(self.replicas)]
        return conversation.replica

    async def turn(self, conversation: Conversation, text: str) -> TurnSample:
        return await within_deadline(self._turn(conversation, text), time.perf_counter())

    async def _turn(self, conversation: Conversation, text: str) -> TurnSample:
        assert isinstance(conversation, EngineConversation)
        conversation.messages.append({"role": "user", "content": text})
        body = {
            "model": self.model,
            "messages": conversation.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
        if self.send_session_id:
            headers[SESSION_HEADER] = conversation.session_id
        replica = self._replica_for(conversation)
        started = time.perf_counter()
        ttft: float | None = None
        answer: list[str] = []
        tokens = 0
        try:
            async with self.http.stream(
                "POST", f"{replica}/v1/chat/completions", content=orjson.dumps(body), headers=headers
            ) as response:
                if response.status_code != 200:
                    return _failed(started, f"engine {response.status_code}")
                parser = SSEParser()
                async for raw in response.aiter_raw():
                    for event in parser.feed(raw):
                        if event.data == "[DONE]":
                            conversation.messages.append({"role": "assistant", "content": "".join(answer)})
                            conversation.turns += 1
                            return TurnSample(started, ttft, time.perf_counter() - started, tokens)
                        chunk: dict[str, Any] = orjson.loads(event.data)
                        if "error" in chunk:
                            return _failed(started, "engine error event", ttft)
                        for choice in chunk.get("choices") or ():
                            content = (choice.get("delta") or {}).get("content")
                            if content:
                                if ttft is None:
                                    ttft = time.perf_counter() - started
                                answer.append(content)
                        if chunk.get("usage"):
                            tokens = int(chunk["usage"].get("completion_tokens") or 0)
        except httpx.HTTPError as exc:
            return _failed(started, type(exc).__name__, ttft)
        return _failed(started, "stream ended without [DONE]", ttft)


# --- the customer path ---------------------------------------------------------------------------------------
@dataclass
class GatewayConversation:
    id: str
    key: str
    turns: int = 0


@dataclass
class GatewayDriver:
    """Customers with API keys (several keys: one key's requests-per-minute cap is a product limit, not ours)."""

    http: httpx.AsyncClient
    gateway_url: str
    api_keys: list[str]
    name: str = "full"

    async def open(self, index: int) -> GatewayConversation:
        key = self.api_keys[index % len(self.api_keys)]
        response = await self.http.post(
            f"{self.gateway_url}/v1/conversations", json={}, headers={"Authorization": f"Bearer {key}"}
        )
        response.raise_for_status()
        return GatewayConversation(id=str(response.json()["id"]), key=key)

    async def turn(self, conversation: Conversation, text: str) -> TurnSample:
        return await within_deadline(self._turn(conversation, text), time.perf_counter())

    async def _turn(self, conversation: Conversation, text: str) -> TurnSample:
        assert isinstance(conversation, GatewayConversation)
        headers = {
            "Authorization": f"Bearer {conversation.key}",
            "Accept": "text/event-stream",
            "Content-Type": "application/json",
        }
        url = f"{self.gateway_url}/v1/conversations/{conversation.id}/messages"
        started = time.perf_counter()
        ttft: float | None = None
        try:
            async with self.http.stream(
                "POST", url, content=orjson.dumps({"content": text}), headers=headers
            ) as response:
                if response.status_code == 429:  # shed by admission control: the client retries after Retry-After
                    await response.aread()
                    retry_after = float(response.headers.get("retry-after") or 1)
                    return TurnSample(started, None, time.perf_counter() - started, 0, "shed", retry_after)
                if response.status_code != 200:
                    body = await response.aread()
                    return _failed(started, f"gateway {response.status_code} {body[:120]!r}")
                parser = SSEParser()
                async for raw in response.aiter_raw():
                    for event in parser.feed(raw):
                        if event.event == "delta" and ttft is None:
                            ttft = time.perf_counter() - started
                        elif event.event == "done":
                            message = event.json().get("message") or {}
                            usage = message.get("usage") or {}
                            conversation.turns += 1
                            return TurnSample(
                                started, ttft, time.perf_counter() - started, int(usage.get("completion_tokens") or 0)
                            )
                        elif event.event == "error":
                            problem = event.json().get("problem") or {}
                            return _failed(started, f"error event {problem.get('type')}", ttft)
        except httpx.HTTPError as exc:
            return _failed(started, type(exc).__name__, ttft)
        return _failed(started, "stream ended without done", ttft)
