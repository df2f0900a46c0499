"""Small real engine replicas for router tests: each says who answered, and can fail in chosen ways.

The engine simulator (app/enginesim) is the engine for behaviour tests; these exist for what a router test
must control exactly: a replica that answers 5xx, that holds a stream open until told to continue, that
closes the connection before or after the first byte.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class FakeReplica:
    name: str
    model: str = "chat"
    health_status: int = 200
    fail_with: int | None = None  # answer every completion with this status
    hold: asyncio.Event | None = None  # stream the first chunk, then wait for this before the rest
    stall: asyncio.Event | None = None  # send the headers, then wait for this before the first chunk
    requests: list[dict] = field(default_factory=list)
    abandoned: int = 0  # streams whose caller went away before they ended

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/health", self._health),
                Route("/v1/models", self._models),
                Route("/v1/chat/completions", self._completions, methods=["POST"]),
                Route("/v1/completions", self._completions, methods=["POST"]),
            ]
        )

    async def _health(self, _request: Request) -> Response:
        return Response(status_code=self.health_status)

    async def _models(self, request: Request) -> Response:
        if request.headers.get("authorization") != "Bearer engine-key":
            return JSONResponse({"error": {"message": "Unauthorized"}}, status_code=401)
        return JSONResponse({"object": "list", "data": [{"id": self.model, "object": "model", "max_model_len": 4096}]})

    async def _completions(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        self.requests.append({"headers": dict(request.headers), "body": body, "path": request.url.path})
        if self.fail_with is not None:
            return JSONResponse({"error": {"message": "boom", "code": self.fail_with}}, status_code=self.fail_with)
        if not body.get("stream"):
            return JSONResponse({"replica": self.name, "model": body.get("model")})
        return StreamingResponse(self._stream(), media_type="text/event-stream")

    async def _stream(self) -> AsyncIterator[bytes]:
        finished = False
        try:
            if self.stall is not None:
                yield b""  # Starlette sends the headers with the first item; an empty one sends only them
                await self.stall.wait()
            yield b'data: {"replica": "' + self.name.encode() + b'"}\n\n'
            if self.hold is not None:
                await self.hold.wait()
            yield b'data: {"text": "rest"}\n\n'
            yield b"data: [DONE]\n\n"
            finished = True
        finally:
            if not finished:
                self.abandoned += 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


HEALTHY = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


@dataclass
class RawReplica:
    url: str
    completions: int = 0


@asynccontextmanager
async def raw_replica(response: bytes) -> AsyncIterator[RawReplica]:
    """A TCP server that answers ``/health`` with 200 and any other request by writing ``response`` verbatim,
    then closing the connection.

    ``b""`` closes before any response; a status line plus headers without a body closes before the first
    body byte; a partial chunked body closes mid-stream.
    """
    replica = RawReplica("")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if head.startswith(b"GET /health "):
            writer.write(HEALTHY)
        else:
            replica.completions += 1
            writer.write(response)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    replica.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        yield replica
