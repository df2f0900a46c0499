"""Calls between services: context forwarded, downstream problems kept, outages and timeouts mapped."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import ClassVar

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel

from app.core.app_factory import create_app
from app.core.errors import NotFoundError, ProblemError
from app.core.identity import current_identity_token
from app.core.internal_client import KEEPALIVE_CONNECTIONS, InternalClient, connection_limits, encode_json
from app.core.logging import bind_log_context, clear_log_context
from app.core.server import uvicorn_config
from app.core.settings import ServiceSettings
from tests.app.harness import bound_socket, serve_app


class DownstreamSettings(ServiceSettings):
    service_name: ClassVar[str] = "downstream"


class Echo(BaseModel):
    request_id: str | None
    authorization: str | None
    traceparent: str | None
    body: dict[str, object] | None


router = APIRouter()


@router.post("/echo")
async def echo(request: Request) -> Echo:
    body = await request.json() if await request.body() else None
    return Echo(
        request_id=request.headers.get("x-request-id"),
        authorization=request.headers.get("authorization"),
        traceparent=request.headers.get("traceparent"),
        body=body,
    )


@router.get("/missing")
async def missing() -> None:
    raise NotFoundError("No such conversation.", conversation_id="c-9", headers={"Retry-After": "3"})


@router.get("/plain-error")
async def plain_error() -> PlainTextResponse:
    return PlainTextResponse("upstream connect error", status_code=503)


@router.get("/slow")
async def slow() -> dict[str, str]:
    await asyncio.sleep(2)
    return {"late": "yes"}


@router.get("/stream")
async def stream() -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for index in range(3):
            yield f"chunk {index}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


@pytest.fixture
async def downstream() -> AsyncIterator[InternalClient]:
    app = create_app(DownstreamSettings(), title="downstream", routers=[router])
    async with serve_app(app) as server:
        client = InternalClient(server.base_url, service="sessions", read_timeout=0.5)
        try:
            yield client
        finally:
            await client.aclose()


async def test_calls_forward_the_request_id_and_the_identity_token(downstream: InternalClient) -> None:
    clear_log_context()
    bind_log_context(request_id="req-0123456789")
    reset = current_identity_token.set("identity-token-value")
    try:
        echoed = await downstream.call("POST", "/echo", Echo, json={"content": "hello"})
    finally:
        current_identity_token.reset(reset)
        clear_log_context()

    assert echoed.request_id == "req-0123456789"
    assert echoed.authorization == "Bearer identity-token-value"
    assert echoed.body == {"content": "hello"}


async def test_a_downstream_problem_is_raised_upstream_unchanged(downstream: InternalClient) -> None:
    with pytest.raises(ProblemError) as caught:
        await downstream.request("GET", "/missing")

    problem = caught.value
    assert (problem.status, problem.type, problem.title) == (404, "/problems/not-found", "Not found")
    assert problem.detail == "No such conversation."
    assert problem.extra == {"conversation_id": "c-9"}
    assert problem.headers == {"retry-after": "3"}


async def test_an_error_that_is_not_a_problem_becomes_a_502(downstream: InternalClient) -> None:
    with pytest.raises(ProblemError) as caught:
        await downstream.request("GET", "/plain-error")

    assert caught.value.status == 502
    assert caught.value.detail == "The sessions service answered 503 unexpectedly."


async def test_a_slow_downstream_is_a_504(downstream: InternalClient) -> None:
    with pytest.raises(ProblemError) as caught:
        await downstream.request("GET", "/slow")

    assert caught.value.status == 504
    assert caught.value.type == "/problems/dependency-timeout"


async def test_an_unreachable_downstream_is_a_503() -> None:
    sock = bound_socket()  # a port that is listening-free once closed
    port = sock.getsockname()[1]
    sock.close()
    client = InternalClient(f"http://127.0.0.1:{port}", service="chat")
    try:
        with pytest.raises(ProblemError) as caught:
            await client.request("GET", "/anything")
    finally:
        await client.aclose()

    assert caught.value.status == 503
    assert caught.value.detail == "The chat service cannot be reached."


async def test_streams_deliver_the_body_as_it_comes(downstream: InternalClient) -> None:
    async with downstream.stream("GET", "/stream") as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])

    assert body == b"chunk 0\nchunk 1\nchunk 2\n"
    with pytest.raises(ProblemError) as caught:
        async with downstream.stream("GET", "/missing"):
            pass
    assert caught.value.status == 404


async def test_a_malformed_answer_is_a_502(downstream: InternalClient) -> None:
    class Other(BaseModel):
        something_else: int

    with pytest.raises(ProblemError) as caught:
        await downstream.call("POST", "/echo", Other)

    assert caught.value.status == 502


def test_pass_through_bodies_survive_what_orjson_refuses() -> None:
    body = {"n": 2**70, "s": "\udbf1lone surrogate", "ok": [1, "two"]}

    encoded = encode_json(body)

    assert json.loads(encoded) == body
    assert encode_json({"a": 1}) == b'{"a":1}'


def test_idle_connections_are_bounded_and_dropped_before_the_server_drops_them() -> None:
    burst = connection_limits(max_connections=500)
    small = connection_limits(max_connections=8)
    server = uvicorn_config(FastAPI(), DownstreamSettings())

    assert burst.max_connections == 500
    assert burst.max_keepalive_connections == KEEPALIVE_CONNECTIONS
    assert small.max_keepalive_connections == 8
    # The client closes an idle connection first: it never reuses one the server is closing.
    assert burst.keepalive_expiry is not None
    assert burst.keepalive_expiry < server.timeout_keep_alive
