"""Refuse request bodies above ``max_bytes`` with a 413 problem, before they are read into memory.

A declared ``Content-Length`` above the limit is refused at once; a chunked body is counted as it arrives and
refused as soon as it crosses the limit. Pure ASGI, so responses still stream.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.contracts import problems
from app.core.errors import ProblemError, ProblemHTTPException, problem_response
from app.core.request_context import request_id_of


def too_large(max_bytes: int) -> ProblemError:
    return ProblemError.of(
        problems.PAYLOAD_TOO_LARGE, f"The request body exceeds {max_bytes} bytes.", max_bytes=max_bytes
    )


def declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.max_bytes:
            error = too_large(self.max_bytes)
            response = problem_response(error, request_id=request_id_of(scope), instance=scope["path"])
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the app, so the problem handlers render it (with the request id).
                    error = too_large(self.max_bytes)
                    raise ProblemHTTPException(413, error.detail or "", **error.extra)
            return message

        await self.app(scope, counting_receive, send)
