"""vLLM's ``--api-key`` check, as a pure ASGI middleware (no per-request overhead beyond one hash)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from http import HTTPStatus

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

#: vLLM's exact 401 body (not the usual error shape).
UNAUTHORIZED_BODY = orjson.dumps({"error": "Unauthorized"})


class ApiKeyMiddleware:
    """vLLM's --api-key check: ``/v1/*`` needs ``Authorization: Bearer <key>``; other paths and OPTIONS do not."""

    def __init__(self, app: ASGIApp, keys: Sequence[str]) -> None:
        self.app = app
        self._digests = [hashlib.sha256(key.encode()).digest() for key in keys]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guarded = scope["type"] == "http" and scope["method"] != "OPTIONS" and scope["path"].startswith("/v1")
        if guarded and not self._authorized(scope):
            response = Response(UNAUTHORIZED_BODY, status_code=HTTPStatus.UNAUTHORIZED, media_type="application/json")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        header = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
        scheme, _, token = header.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer":
            return False
        digest = hashlib.sha256(token.encode()).digest()
        matched = False
        for expected in self._digests:
            matched |= secrets.compare_digest(digest, expected)
        return matched
