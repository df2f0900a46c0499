"""Static pages the gateway serves (web chat, API docs, agent workspace, widget): from memory, under a strict CSP.

Files are read once at start and served with an ETag and ``Cache-Control: no-cache`` (a matching ETag is a tiny
304, so a deploy shows at once and no stale script mixes versions). Every response carries the same security
headers; the Content-Security-Policy allows scripts, styles and fetches from this origin only (no inline script,
no eval, no third party), and each page says who may frame it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request, Response

from app.core.errors import NotFoundError

STATIC_DIR = Path(__file__).resolve().parent / "static"
JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
HTML = "text/html; charset=utf-8"
#: Revalidate every time (an ETag match is a tiny 304).
CACHE_CONTROL = "no-cache"


def content_security_policy(*, frame_ancestors: str = "'none'") -> str:
    """The policy of every page: this origin only. ``frame_ancestors`` is ``'none'`` except for the widget's
    frame, which the tenant's sites embed."""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "img-src 'self' data:",  # the empty data: favicon (no /favicon.ico request), avatars as data: URLs
            "base-uri 'none'",
            "form-action 'none'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def security_headers(*, frame_ancestors: str = "'none'") -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(frame_ancestors=frame_ancestors),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }


SECURITY_HEADERS = security_headers()


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    media_type: str
    etag: str

    @classmethod
    def load(cls, path: Path, media_type: str) -> StaticFile:
        body = path.read_bytes()
        return cls(body=body, media_type=media_type, etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"')

    def response(self, request: Request, headers: Mapping[str, str] = SECURITY_HEADERS) -> Response:
        all_headers = {**headers, "Cache-Control": CACHE_CONTROL, "ETag": self.etag}
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=all_headers)
        return Response(self.body, media_type=self.media_type, headers=all_headers)


class AssetSet:
    """A fixed set of files (name -> media type) in one directory; any other name is a 404."""

    def __init__(self, directory: Path, types: Mapping[str, str]) -> None:
        self.types = dict(types)
        self.files = {name: StaticFile.load(directory / name, media_type) for name, media_type in types.items()}

    def response(self, name: str, request: Request, headers: Mapping[str, str] = SECURITY_HEADERS) -> Response:
        asset = self.files.get(name)
        if asset is None:
            raise NotFoundError(f"No asset {name!r}.")
        return asset.response(request, headers)
