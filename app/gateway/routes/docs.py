"""``GET /docs``: the API reference (Swagger UI) from files served by the gateway itself.

FastAPI's default page loads Swagger UI from a public CDN at a floating version, without an integrity check, and
starts it with an inline script: blank where outside requests are blocked, and incompatible with our CSP. Here
the files come from the pinned ``swagger-ui-bundle-v2`` package (Swagger UI 5, which reads OpenAPI 3.1), are read
once at start, and the page runs under the same policy as the web chat.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter, Request, Response

from app.gateway.static_files import CSS, HTML, JS, STATIC_DIR, AssetSet, StaticFile

SWAGGER_UI_DIR = Path(str(swagger_ui_bundle.swagger_ui_path))
SWAGGER_ASSETS = AssetSet(SWAGGER_UI_DIR, {"swagger-ui-bundle.js": JS, "swagger-ui.css": CSS})
OWN_ASSETS = AssetSet(STATIC_DIR, {"docs.js": JS})
PAGE = StaticFile.load(STATIC_DIR / "docs.html", HTML)

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def docs_page(request: Request) -> Response:
    return PAGE.response(request)


@router.get("/docs/assets/{name}")
async def docs_asset(name: str, request: Request) -> Response:
    if name in OWN_ASSETS.types:
        return OWN_ASSETS.response(name, request)
    return SWAGGER_ASSETS.response(name, request)
