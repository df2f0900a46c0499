"""Router test fixtures: real HTTP servers on free ports."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from tests.app.harness import eventually


@asynccontextmanager
async def serve(
    app: Any, *, scheme: str = "http", host: str = "127.0.0.1", port: int = 0, **config: Any
) -> AsyncIterator[str]:
    """Run ``app`` with uvicorn on ``host`` (a free port by default) in this event loop; yields its base URL."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the proto says TCP, and
    # without it every response written in two parts waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=1, **config)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        yield f"{scheme}://{host}:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def until(predicate: Callable[[], bool], within_seconds: float = 5.0) -> None:
    """Wait for state that the servers in this event loop change (the harness's ``eventually`` for a predicate)."""

    async def read() -> bool:
        return predicate()

    await eventually(read, bool, within_seconds)
