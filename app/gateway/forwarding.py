"""Forwarding a public request to the service that owns it, and its answer back unchanged.

Public ``/v1/<path>`` maps to ``/internal/v1/<path>`` on sessions and chat (auth keeps the public paths). The
gateway has already validated the body against the public schema; the downstream's body is passed back as
bytes (no re-serialisation), and its problems are re-raised as the same problems by the internal client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Response
from pydantic import BaseModel

from app.core.internal_client import InternalClient

INTERNAL_PREFIX = "/internal"


def internal_path(public_path: str) -> str:
    return INTERNAL_PREFIX + public_path


async def forward(
    client: InternalClient,
    method: str,
    path: str,
    *,
    body: BaseModel | None = None,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
) -> Response:
    upstream = await client.request(method, path, json=body, params=params, headers=headers, content=content)
    if upstream.status_code == 204:
        return Response(status_code=204)
    media_type = upstream.headers.get("content-type", "application/json")
    return Response(upstream.content, status_code=upstream.status_code, media_type=media_type)
