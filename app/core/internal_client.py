"""HTTP calls between services: pooled, time-bounded, traced, and carrying the request's identity.

Each downstream gets one ``InternalClient`` for the process (keep-alive connections are what keep the
gateway's overhead in single milliseconds). Calls forward ``X-Request-Id``, the W3C ``traceparent`` and the
internal identity token. A downstream problem+json is re-raised as the same problem (a 404 from sessions
reaches the customer as that 404, with the customer's request id); an unreachable downstream becomes a 503,
a slow one a 504, and anything else unexpected a 502, never a hang or a bare 500.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import orjson
from pydantic import BaseModel

from app.contracts import problems
from app.core.errors import PROBLEM_MEDIA_TYPE, ProblemError, RemoteProblemError
from app.core.identity import current_identity_token
from app.core.logging import get_logger, log_context
from app.core.request_context import REQUEST_ID_HEADER
from app.core.tracing import instrument_client

#: Response headers of a downstream problem worth passing on to the caller.
FORWARDED_PROBLEM_HEADERS = ("retry-after",)
_PROBLEM_CORE_MEMBERS = ("type", "title", "status", "detail", "instance", "request_id")

#: Idle connections kept per downstream. httpcore scans its whole pool on every request (and polls each idle
#: socket), so keeping every connection a burst ever opened costs CPU on every later call.
KEEPALIVE_CONNECTIONS = 64
#: How long an idle connection is kept. Below our servers' keep-alive timeout (``app.core.server``, 75 s):
#: the client drops an idle connection before the server does, so it never sends a request on a connection
#: the server is closing at that moment (a reset the connect retry cannot recover, as the request was sent).
KEEPALIVE_EXPIRY_SECONDS = 30.0

M = TypeVar("M", bound=BaseModel)

log = get_logger(__name__)


class DependencyUnavailableError(ProblemError):
    problem = problems.DEPENDENCY_UNAVAILABLE


class DependencyTimeoutError(ProblemError):
    problem = problems.DEPENDENCY_TIMEOUT


class BadGatewayError(ProblemError):
    problem = problems.BAD_GATEWAY


def encode_json(body: Any) -> bytes:
    """JSON bytes of a pydantic model or plain data (orjson: several times faster than the stdlib).

    Pass-through bodies may hold what JSON allows and orjson refuses (integers beyond 64 bits, lone UTF-16
    surrogates from ``\\udXXX`` escapes): those fall back to the stdlib, which re-escapes them faithfully.
    """
    if isinstance(body, BaseModel):
        return body.model_dump_json().encode()
    try:
        return orjson.dumps(body, default=str)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(body, default=str).encode()


def problem_from_response(service: str, response: httpx.Response, body: bytes) -> ProblemError:
    """The upstream error for a downstream error response (its own problem when it sent one)."""
    content_type = response.headers.get("content-type", "")
    if content_type.startswith(PROBLEM_MEDIA_TYPE):
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("status"), int):
            headers = {name: response.headers[name] for name in FORWARDED_PROBLEM_HEADERS if name in response.headers}
            return RemoteProblemError(
                status=document["status"],
                type_=str(document.get("type", "about:blank")),
                title=str(document.get("title", "")),
                detail=document.get("detail"),
                extra={key: value for key, value in document.items() if key not in _PROBLEM_CORE_MEMBERS},
                headers=headers,
            )
    log.warning("downstream_error_without_problem", service=service, status=response.status_code)
    return BadGatewayError(f"The {service} service answered {response.status_code} unexpectedly.")


def outage_problem(service: str, exc: httpx.TransportError) -> ProblemError:
    """503 for an unreachable downstream, 504 for one that did not answer in time."""
    log.warning("downstream_unreachable", service=service, error=type(exc).__name__)
    if isinstance(exc, httpx.TimeoutException):
        return DependencyTimeoutError(f"The {service} service did not answer in time.")
    return DependencyUnavailableError(f"The {service} service cannot be reached.")


def connection_limits(max_connections: int) -> httpx.Limits:
    """At most ``max_connections`` open, of which a bounded number stay idle, and not for long."""
    return httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=min(max_connections, KEEPALIVE_CONNECTIONS),
        keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
    )


class InternalClient:
    """A pooled client for one downstream service (``base_url``), used for the process's lifetime."""

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        connect_timeout: float = 2.0,
        read_timeout: float = 30.0,
        max_connections: int = 200,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.service = service
        limits = connection_limits(max_connections)
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
            # One retry on connect errors only (a pod that just went away); never re-sends a request that was sent.
            transport=transport or httpx.AsyncHTTPTransport(retries=1, limits=limits),
        )
        instrument_client(self.http)

    async def aclose(self) -> None:
        await self.http.aclose()

    def _headers(self, headers: Mapping[str, str] | None, identity_token: str | None) -> dict[str, str]:
        result = dict(headers or {})
        request_id = log_context().get("request_id")
        if request_id:
            result[REQUEST_ID_HEADER] = request_id
        token = identity_token or current_identity_token.get()
        if token and "Authorization" not in result:  # an explicit header (a service token) wins
            result["Authorization"] = f"Bearer {token}"
        return result

    def _build(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        identity_token: str | None,
        content: bytes | None = None,
    ) -> httpx.Request:
        all_headers = self._headers(headers, identity_token)
        if json is not None:
            content = encode_json(json)
            all_headers["Content-Type"] = "application/json"
        clean_params = {key: value for key, value in (params or {}).items() if value is not None}
        return self.http.build_request(method, path, content=content, params=clean_params, headers=all_headers)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        identity_token: str | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send and read the whole response; raises the matching ``ProblemError`` for any error status.

        ``content`` sends raw bytes instead of ``json`` (its ``Content-Type`` comes in ``headers``)."""
        request = self._build(
            method, path, json=json, params=params, headers=headers, identity_token=identity_token, content=content
        )
        try:
            response = await self.http.send(request)
        except httpx.TransportError as exc:
            raise outage_problem(self.service, exc) from exc
        if response.status_code >= 400:
            raise problem_from_response(self.service, response, response.content)
        return response

    async def call(
        self,
        method: str,
        path: str,
        response_model: type[M],
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> M:
        """``request`` and validate the JSON answer as ``response_model`` (a malformed answer is a 502)."""
        response = await self.request(method, path, json=json, params=params, headers=headers)
        try:
            return response_model.model_validate_json(response.content)
        except ValueError as exc:
            raise BadGatewayError(f"The {self.service} service answered with an unexpected body.") from exc

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        identity_token: str | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Send and yield the response with its body unread (read it with ``aiter_raw``); errors as ``request``."""
        request = self._build(method, path, json=json, params=params, headers=headers, identity_token=identity_token)
        try:
            response = await self.http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise outage_problem(self.service, exc) from exc
        try:
            if response.status_code >= 400:
                body = await response.aread()
                raise problem_from_response(self.service, response, body)
            yield response
        finally:
            await response.aclose()
