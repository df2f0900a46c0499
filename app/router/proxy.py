"""Forwarding one OpenAI-compatible request to a replica: choose, retry before the first byte, then relay.

A request is tried on the replicas of its ``plan`` in order (session preference, or least loaded). It moves to
the next replica when the failure happens before anything was relayed: the connection fails, the replica
answers 5xx, or the connection breaks before the first body byte (a replica that died after accepting). From
the first byte on, the response is committed: bytes are relayed as they arrive, unparsed and unbuffered. A
replica that breaks mid-stream ends an SSE stream the way vLLM reports a failure mid-answer, with an in-band
``data: {"error": ...}`` event (when the bytes relayed so far end on an event boundary; otherwise, and for a
non-streamed body, the caller's connection is broken too): never a silently truncated success. The caller
(chat) continues the answer on another replica from there. The outcome is counted when the body ends
(``app.router.outcome``), so a stream broken after its headers counts as an error. Replicas that fail at the
connection level are ejected at once; the health checker readmits them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

import anyio
import httpx
import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from app.core.logging import bind_log_context, get_logger
from app.core.metrics import METRICS
from app.router.balancer import ModelPool
from app.router.coalesce import coalesced
from app.router.errors import openai_error
from app.router.outcome import Outcome, StreamWatch
from app.router.registry import BackendRegistry

log = get_logger(__name__)

SESSION_HEADER = "x-session-id"
#: Response header naming the replica that served (an opaque id, not its address): a caller whose stream broke
#: or stalled passes it back in ``AVOID_HEADER`` when it continues the answer, and that replica is tried last.
BACKEND_HEADER = "x-helpline-backend"
AVOID_HEADER = "x-helpline-avoid-backend"
#: Connection-scoped headers a proxy must not forward (RFC 9110 section 7.6.1), plus those httpx recomputes.
HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
NO_BACKEND_RETRY_AFTER_SECONDS = "2"
#: nginx's "client closed request": logged for a caller that left before the first byte (never sent).
CLIENT_CLOSED_REQUEST = 499


class UpstreamBrokenError(Exception):
    """A replica's response broke after relaying started; raised to abort the caller's connection as well."""


@dataclass(frozen=True)
class ParsedRequest:
    model: str
    session_id: str | None
    avoid: str | None = None


def backend_id(url: str) -> str:
    """The opaque id of a replica in ``BACKEND_HEADER`` (callers never learn the serving network's addresses)."""
    return blake2b(url.encode(), digest_size=6).hexdigest()


def avoiding(plan: list[str], avoid: str | None) -> list[str]:
    """``plan`` with the replica ``avoid`` names moved last: still tried when it is the only one left."""
    if avoid is None:
        return plan
    return sorted(plan, key=lambda url: backend_id(url) == avoid)  # stable: the others keep their order


def forwarded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The caller's headers minus hop-by-hop ones; ``Authorization`` (the engine's API key) passes unchanged."""
    return {name: value for name, value in headers.items() if name.lower() not in HOP_BY_HOP_HEADERS}


def relayed_headers(headers: httpx.Headers) -> dict[str, str]:
    """The replica's response headers minus hop-by-hop ones (``content-length`` stays: the body is unchanged)."""
    return {
        name: value for name, value in headers.items() if name.lower() not in HOP_BY_HOP_HEADERS - {"content-length"}
    }


class RequestRejectedError(Exception):
    """The request cannot be routed; ``response`` is the OpenAI-shaped answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def parse_request(body: bytes, headers: Mapping[str, str], registry: BackendRegistry) -> ParsedRequest:
    """Which model the request is for (vLLM's rule: the ``model`` field, optional with one model served)."""
    try:
        document: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestRejectedError(openai_error(400, f"The request body is not valid JSON: {exc}")) from exc
    if not isinstance(document, dict):
        raise RequestRejectedError(openai_error(400, "The request body must be a JSON object."))
    model = document.get("model") or registry.only_model
    if not isinstance(model, str):
        raise RequestRejectedError(openai_error(400, "The `model` field is required.", param="model"))
    if registry.pool(model) is None:
        valid = ", ".join(registry.pools)  # vLLM 0.32's message names the served models
        raise RequestRejectedError(
            openai_error(404, f"The model `{model}` does not exist. Valid aliases: {valid}.", param="model")
        )
    return ParsedRequest(
        model=model, session_id=headers.get(SESSION_HEADER) or None, avoid=headers.get(AVOID_HEADER) or None
    )


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestRejectedError(openai_error(413, f"The request body exceeds {limit} bytes."))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestRejectedError(openai_error(413, f"The request body exceeds {limit} bytes."))
        chunks.append(chunk)
    return b"".join(chunks)


class EngineProxy:
    def __init__(
        self,
        registry: BackendRegistry,
        client: httpx.AsyncClient,
        *,
        max_attempts: int,
        max_body_bytes: int,
        stream_flush_interval: float = 0.0,
    ) -> None:
        self._registry = registry
        self._client = client
        self._max_attempts = max_attempts
        self._max_body_bytes = max_body_bytes
        self._stream_flush_interval = stream_flush_interval

    async def forward(self, request: Request) -> Response:
        """Route one ``/v1/chat/completions`` or ``/v1/completions`` request."""
        try:
            body = await read_body(request, self._max_body_bytes)
            parsed = parse_request(body, request.headers, self._registry)
        except RequestRejectedError as rejected:
            return rejected.response
        except ClientDisconnect:  # the caller left while sending the body (its own deadline): nothing to answer
            log.info("caller left while sending the request")
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        if parsed.session_id:
            bind_log_context(conversation_id=parsed.session_id)
        pool = self._registry.pools[parsed.model]
        plan = avoiding(pool.plan(parsed.session_id), parsed.avoid)[: self._max_attempts]
        if not plan:
            self._count(parsed.model, "no_backend")
            log.warning("no engine replica available", model=parsed.model)
            return openai_error(
                503,
                f"No replica of model `{parsed.model}` is available.",
                headers={"Retry-After": NO_BACKEND_RETRY_AFTER_SECONDS},
            )
        # Until the first byte, the caller may give up (its own first-token deadline): stop waiting for the
        # replica then, instead of holding the connection until the read timeout.
        routing = asyncio.ensure_future(self._route(parsed, request, body, plan))
        caller_gone = asyncio.ensure_future(_disconnected(request))
        await asyncio.wait({routing, caller_gone}, return_when=asyncio.FIRST_COMPLETED)
        if routing.done():
            caller_gone.cancel()
            return routing.result()
        routing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await routing
        log.info("caller left before the first byte", model=parsed.model)
        return Response(status_code=CLIENT_CLOSED_REQUEST)

    async def _route(self, parsed: ParsedRequest, request: Request, body: bytes, plan: list[str]) -> Response:
        """Try the plan's replicas in order until one answers (see the module docstring for what is retried)."""
        pool = self._registry.pools[parsed.model]
        headers = forwarded_headers(request.headers)
        failure = "no replica answered"
        for attempt, url in enumerate(plan):
            last_attempt = attempt == len(plan) - 1
            pool.acquire(url)
            committed = False
            upstream: httpx.Response | None = None
            try:
                upstream = await self._send(url, request, headers, body)
                if upstream.status_code >= 500 and not last_attempt:
                    failure = f"replica answered {upstream.status_code}"
                    continue
                chunks = upstream.aiter_raw()
                first = await _first_chunk(chunks)
            except httpx.TimeoutException as exc:
                if not isinstance(exc, httpx.ConnectTimeout):  # the replica took the request and went silent
                    self._count(parsed.model, "error")
                    log.warning("engine replica timed out", model=parsed.model, backend=url)
                    return openai_error(504, "The engine replica did not answer in time.")
                failure = self._eject(parsed.model, url, exc)
                continue
            except httpx.TransportError as exc:
                failure = self._eject(parsed.model, url, exc)
                continue
            else:
                committed = True
            finally:
                if not committed:
                    pool.release(url)
                    if upstream is not None:
                        await upstream.aclose()
            assert upstream is not None
            return self._relay(
                parsed, pool=pool, url=url, upstream=upstream, first=first, chunks=chunks, retried=attempt > 0
            )
        self._count(parsed.model, "error")
        log.warning("request failed on every replica tried", model=parsed.model, attempts=len(plan), last=failure)
        return openai_error(502, f"No replica of model `{parsed.model}` could serve the request ({failure}).")

    async def _send(self, url: str, request: Request, headers: dict[str, str], body: bytes) -> httpx.Response:
        outgoing = self._client.build_request(
            request.method, url + request.url.path, params=request.url.query, headers=headers, content=body
        )
        return await self._client.send(outgoing, stream=True)

    def _eject(self, model: str, url: str, exc: Exception) -> str:
        reason = f"{type(exc).__name__} before the first byte"
        self._registry.eject(model, url, reason)
        return reason

    def _relay(
        self,
        parsed: ParsedRequest,
        *,
        pool: ModelPool,
        url: str,
        upstream: httpx.Response,
        first: bytes,
        chunks: AsyncIterator[bytes],
        retried: bool,
    ) -> Response:
        committed: Outcome = "error" if upstream.status_code >= 500 else ("retried" if retried else "ok")
        if parsed.session_id:
            affinity = pool.remember(parsed.session_id, url)
            if affinity is not None:
                METRICS.router_affinity_total.labels(model=parsed.model, result=affinity).inc()

        streamed = upstream.headers.get("content-type", "").startswith("text/event-stream")
        interval = self._stream_flush_interval if streamed else 0.0

        async def upstream_chunks() -> AsyncIterator[bytes]:
            if first:
                yield first
            async for chunk in chunks:
                yield chunk

        async def body() -> AsyncIterator[bytes]:
            watch = StreamWatch()
            outcome: Outcome = "cancelled"  # until the body ends one way or another: the caller left
            try:
                async for chunk in coalesced(upstream_chunks(), interval):
                    watch.feed(chunk)
                    yield chunk
                outcome = "error" if watch.saw_error else committed
            except httpx.TransportError as exc:
                outcome = "error"
                self._registry.eject(parsed.model, url, f"{type(exc).__name__} mid-stream")
                log.warning(
                    "engine replica broke mid-response", model=parsed.model, backend=url, error=type(exc).__name__
                )
                if not (streamed and watch.at_event_boundary):
                    raise UpstreamBrokenError(f"replica {url} broke mid-response") from exc
                yield in_band_error(f"The engine replica broke mid-answer ({type(exc).__name__}).")
            finally:
                self._count(parsed.model, outcome)
                pool.release(url)
                # Starlette cancels the body through an anyio scope when the caller leaves; unshielded, that
                # cancellation interrupted this close too, leaving a stalled replica's connection (and its
                # generation) open until the read timeout.
                with anyio.CancelScope(shield=True):
                    await upstream.aclose()

        headers = {**relayed_headers(upstream.headers), BACKEND_HEADER: backend_id(url)}
        return StreamingResponse(body(), status_code=upstream.status_code, headers=headers)

    async def list_models(self, request: Request) -> Response:
        """``/v1/models``: the union of what one ready replica of each model lists (with ``max_model_len``).

        A model without a ready replica is left out (it cannot serve now). An error from a replica (a wrong
        API key: 401) is returned as is, so the caller sees what vLLM would have said.
        """
        headers = forwarded_headers(request.headers)
        answers = await asyncio.gather(
            *(self._models_of(model, pool, headers) for model, pool in self._registry.pools.items())
        )
        entries: dict[str, Any] = {}
        for answer in answers:
            if answer is None:
                continue
            if answer.status_code != httpx.codes.OK:
                return Response(answer.content, status_code=answer.status_code, headers=relayed_headers(answer.headers))
            for entry in orjson.loads(answer.content).get("data") or ():
                entries.setdefault(entry["id"], entry)
        return Response(orjson.dumps({"object": "list", "data": list(entries.values())}), media_type="application/json")

    async def _models_of(self, model: str, pool: ModelPool, headers: dict[str, str]) -> httpx.Response | None:
        for url in pool.plan(None)[: self._max_attempts]:
            try:
                return await self._client.get(f"{url}/v1/models", headers=headers)
            except httpx.TransportError as exc:
                self._eject(model, url, exc)
        return None

    @staticmethod
    def _count(model: str, outcome: Outcome) -> None:
        METRICS.router_requests_total.labels(model=model, outcome=outcome).inc()


def in_band_error(message: str) -> bytes:
    """vLLM's way of failing a stream that has started: an SSE event holding an error object, then ``[DONE]``."""
    error = {"error": {"message": message, "type": "InternalServerError", "param": None, "code": 500}}
    return b"data: " + orjson.dumps(error) + b"\n\ndata: [DONE]\n\n"


async def _first_chunk(chunks: AsyncIterator[bytes]) -> bytes:
    """The first body bytes (empty for an empty body); a connection that breaks here can still be retried."""
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return b""


async def _disconnected(request: Request) -> None:
    """Returns when the caller disconnects (the body has been read, so the next message can only be that)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
