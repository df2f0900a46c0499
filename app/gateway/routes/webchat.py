"""``GET /chat``: the customer web chat page and its static files, under a strict Content-Security-Policy.

Plain HTML, CSS and ES modules from ``app/gateway/static`` (no build step), read once at start and served from
memory with an ETag. The policy allows scripts, styles and fetches from this origin only: no inline script, no
third party, no framing (the page posts feedback and handoffs, so it must not be clickjacked). The page holds
its widget token in the URL fragment, which browsers never send to a server.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, Response

from app.core.errors import NotFoundError

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
PAGE = "chat.html"
#: The files the page loads, and their media types (anything else under /chat/assets is a 404).
ASSET_TYPES = {
    "chat.js": "text/javascript; charset=utf-8",
    "sse.js": "text/javascript; charset=utf-8",
    "problems.js": "text/javascript; charset=utf-8",
    "chat.css": "text/css; charset=utf-8",
}
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",  # the empty data: favicon (no /favicon.ico request)
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
#: Revalidate every time (an ETag match is a tiny 304): a deploy shows at once, no stale script mixes versions.
CACHE_CONTROL = "no-cache"

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    media_type: str
    etag: str

    @classmethod
    def load(cls, name: str, media_type: str) -> StaticFile:
        body = (STATIC_DIR / name).read_bytes()
        return cls(body=body, media_type=media_type, etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"')

    def response(self, request: Request) -> Response:
        headers = {**SECURITY_HEADERS, "Cache-Control": CACHE_CONTROL, "ETag": self.etag}
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


FILES = {
    PAGE: StaticFile.load(PAGE, "text/html; charset=utf-8"),
    **{name: StaticFile.load(name, media_type) for name, media_type in ASSET_TYPES.items()},
}


@router.get("/chat")
async def chat_page(request: Request) -> Response:
    return FILES[PAGE].response(request)


@router.get("/chat/assets/{name}")
async def chat_asset(name: str, request: Request) -> Response:
    asset = FILES.get(name) if name in ASSET_TYPES else None
    if asset is None:
        raise NotFoundError(f"No asset {name!r}.")
    return asset.response(request)
