"""``GET /chat``: the customer web chat page and its static files, under a strict Content-Security-Policy.

Plain HTML, CSS and ES modules from ``app/gateway/static`` (no build step; see ``static_files``). The page posts
feedback and handoffs, so it must not be clickjacked: no framing. It holds its widget token in the URL fragment,
which browsers never send to a server.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.gateway.static_files import CSS, HTML, JS, STATIC_DIR, AssetSet, StaticFile

PAGE = "chat.html"
#: The files the page loads, and their media types (anything else under /chat/assets is a 404).
ASSET_TYPES = {"chat.js": JS, "sse.js": JS, "problems.js": JS, "chat.css": CSS}
ASSETS = AssetSet(STATIC_DIR, ASSET_TYPES)
PAGE_FILE = StaticFile.load(STATIC_DIR / PAGE, HTML)

router = APIRouter(include_in_schema=False)


@router.get("/chat")
async def chat_page(request: Request) -> Response:
    return PAGE_FILE.response(request)


@router.get("/chat/assets/{name}")
async def chat_asset(name: str, request: Request) -> Response:
    return ASSETS.response(name, request)
