"""``GET /agent``: the agent workspace, a page for people with the agent or admin role, under the strict CSP.

Plain HTML, CSS and ES modules from ``app/gateway/static/agent`` (plus the shared SSE parser), no build step and
no third-party host. The page signs in with ``POST /v1/auth/token`` and then uses the agent desk API only
(``/v1/agent/...``); it keeps the access token in ``sessionStorage`` (gone when the tab closes). It acts on
conversations, so it must never be framed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.gateway.static_files import CSS, HTML, JS, STATIC_DIR, AssetSet, StaticFile

AGENT_DIR = STATIC_DIR / "agent"
#: The workspace's own files, and the one it shares with the web chat (anything else under /agent/assets is 404).
OWN_ASSETS = AssetSet(AGENT_DIR, {"agent.js": JS, "agent.css": CSS})
SHARED_ASSETS = AssetSet(STATIC_DIR, {"sse.js": JS})
PAGE_FILE = StaticFile.load(AGENT_DIR / "agent.html", HTML)

router = APIRouter(include_in_schema=False)


@router.get("/agent")
async def workspace_page(request: Request) -> Response:
    return PAGE_FILE.response(request)


@router.get("/agent/assets/{name}")
async def workspace_asset(name: str, request: Request) -> Response:
    assets = SHARED_ASSETS if name in SHARED_ASSETS.types else OWN_ASSETS
    return assets.response(name, request)
