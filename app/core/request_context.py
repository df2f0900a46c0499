"""Request ids: assigned at the edge, returned in ``X-Request-Id``, bound to every log line, one access log line.

A pure ASGI middleware (``BaseHTTPMiddleware`` would buffer and break streaming responses). Internal services
trust a well-formed incoming id, so one customer request keeps one id across gateway, chat, sessions and auth;
the gateway does not (a client could otherwise forge ids that collide with other requests in the logs).
"""

from __future__ import annotations

import re
import time
from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.ids import new_request_id
from app.core.logging import bind_log_context, clear_log_context, get_logger

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID_HEADER_RAW = REQUEST_ID_HEADER.lower().encode()
_WELL_FORMED_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{8,128}$")

#: Probes and scrapes: logged only when they fail (a kubelet probes every few seconds).
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

access_log = get_logger("helpline.access")


def request_id_of(scope: MutableMapping[str, Any]) -> str:
    """The request id the middleware assigned (``"-"`` outside a request, e.g. in a test calling a handler)."""
    return scope.get("state", {}).get("request_id", "-")


def incoming_request_id(scope: Scope) -> str | None:
    """The caller's ``X-Request-Id`` if present and well-formed (a bounded charset: safe in logs and headers)."""
    for name, value in scope.get("headers", ()):
        if name == _REQUEST_ID_HEADER_RAW:
            return value.decode("latin-1") if _WELL_FORMED_REQUEST_ID.match(value) else None
    return None


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/v1/conversations/{conversation_id}``), bounded for metric labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestContextMiddleware:
    """Assigns the request id, binds it to the log context, echoes it, and writes the access log line."""

    def __init__(self, app: ASGIApp, *, service: str, trust_incoming: bool) -> None:
        self.app = app
        self.service = service
        self.trust_incoming = trust_incoming

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = (incoming_request_id(scope) if self.trust_incoming else None) or new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["started_at"] = time.perf_counter()  # for latencies measured further in (time to first token)
        clear_log_context()
        bind_log_context(service=self.service, request_id=request_id)
        header = (_REQUEST_ID_HEADER_RAW, request_id.encode())
        started = state["started_at"]
        status = 500  # what the client gets if the app raises before starting a response

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                if not any(name.lower() == _REQUEST_ID_HEADER_RAW for name, _ in headers):
                    headers.append(header)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            path = scope["path"]
            if status >= 400 or path not in QUIET_PATHS:
                access_log.info(
                    "request",
                    method=scope["method"],
                    path=path,
                    route=route_template(scope),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
