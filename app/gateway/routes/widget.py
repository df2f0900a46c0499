"""The embeddable widget: the one-tag loader, the chat frame the loader opens, and the API the frame starts with.

A company puts ``<script src="https://<chat domain>/widget.js" data-key="<API key id>" async></script>`` on its
pages. The loader (``static/widget/loader.js``) adds a launcher button and an iframe of ``/widget/frame``; the
frame is the web chat (``/chat/assets/chat.js``) dressed in the tenant's branding, with a visitor token from
``POST /v1/widget/sessions``. Which sites may frame it is the tenant's ``allowed_origins``, enforced by the browser
through the frame's ``frame-ancestors`` (a listed site or nothing), and again when a token is issued.
"""

from __future__ import annotations

import time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from app.contracts.access import ADMIN, CUSTOMER_WRITE
from app.contracts.widget import Csat, CsatCreate, WidgetConfig, WidgetSession, WidgetSessionRequest, WidgetSettings
from app.core.identity import mint_service_token
from app.gateway.audit_trail import audited
from app.gateway.components import Gateway
from app.gateway.dependencies import Caller, GatewayDep, authenticated
from app.gateway.forwarding import forward, internal_path
from app.gateway.openapi import problem_responses
from app.gateway.static_files import CSS, HTML, JS, STATIC_DIR, AssetSet, StaticFile, security_headers

WIDGET_DIR = STATIC_DIR / "widget"
LOADER = StaticFile.load(WIDGET_DIR / "loader.js", JS)
FRAME = StaticFile.load(WIDGET_DIR / "frame.html", HTML)
ASSETS = AssetSet(WIDGET_DIR, {"frame.js": JS, "frame.css": CSS})
#: How long a key's widget config is reused for the frame's headers: a settings change shows within this.
CONFIG_CACHE_SECONDS = 30.0
#: Any site may load the loader script itself (it only adds a button; the frame is what is guarded).
LOADER_HEADERS = {**security_headers(), "Cross-Origin-Resource-Policy": "cross-origin"}

router = APIRouter(tags=["widget"])
Admin = Annotated[Caller, Depends(authenticated(ADMIN))]
Customer = Annotated[Caller, Depends(authenticated(CUSTOMER_WRITE))]


class ConfigCache:
    """Widget configs by key id, a few seconds old at most (every frame load would otherwise ask auth)."""

    def __init__(self, ttl_seconds: float = CONFIG_CACHE_SECONDS) -> None:
        self.ttl_seconds = ttl_seconds
        self._entries: dict[UUID, tuple[float, WidgetConfig]] = {}

    async def get(self, gateway: Gateway, key_id: UUID) -> WidgetConfig:
        now = time.monotonic()
        cached = self._entries.get(key_id)
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached[1]
        headers = {"Authorization": f"Bearer {mint_service_token(secret=gateway.internal_secret, issuer='gateway')}"}
        config = await gateway.auth.call("GET", f"/internal/v1/widget-config/{key_id}", WidgetConfig, headers=headers)
        if len(self._entries) > 10_000:  # bounded: keys come from anyone's URL
            self._entries.clear()
        self._entries[key_id] = (now, config)
        return config


def config_cache(request: Request) -> ConfigCache:
    cache = getattr(request.app.state, "widget_configs", None)
    if cache is None:
        cache = request.app.state.widget_configs = ConfigCache()
    return cache


KeyParam = Annotated[UUID, Query(description="The id of the API key named in the embedding tag (not its secret).")]


@router.get("/widget.js", include_in_schema=False)
async def loader(request: Request) -> Response:
    return LOADER.response(request, LOADER_HEADERS)


@router.get("/widget/frame", include_in_schema=False)
async def frame(key: KeyParam, request: Request, gateway: GatewayDep) -> Response:
    """The chat frame; only the tenant's allowed sites may frame it (an unknown key is a 404)."""
    config = await config_cache(request).get(gateway, key)
    return FRAME.response(request, security_headers(frame_ancestors=" ".join(config.allowed_origins)))


@router.get("/widget/assets/{name}", include_in_schema=False)
async def frame_asset(name: str, request: Request) -> Response:
    return ASSETS.response(name, request)


@router.get("/v1/widget/config", response_model=WidgetConfig, responses=problem_responses(404))
async def widget_config(key: KeyParam, request: Request, gateway: GatewayDep) -> WidgetConfig:
    """Public: the branding and allowed sites of the widget embedded with this key."""
    return await config_cache(request).get(gateway, key)


@router.post("/v1/widget/sessions", response_model=WidgetSession, responses=problem_responses(403, 404, 429))
async def widget_session(body: WidgetSessionRequest, request: Request, gateway: GatewayDep) -> Response:
    """Public: a visitor token (15 minutes) for the widget on an allowed site, charged to the tag's key.

    Without `visitor_secret` a new visitor is created and its secret returned; with it, the same visitor again.
    Each client address may start a limited number of sessions per minute (429 with `Retry-After` beyond).
    """
    await gateway.visitor_throttle.admit(request.client.host if request.client else "unknown")
    headers = {"Authorization": f"Bearer {mint_service_token(secret=gateway.internal_secret, issuer='gateway')}"}
    return await forward(gateway.auth, "POST", "/internal/v1/widget-sessions", body=body, headers=headers)


@router.get("/v1/widget-settings", response_model=WidgetSettings, responses=problem_responses(), tags=["admin"])
async def get_widget_settings(_admin: Admin, gateway: GatewayDep) -> Response:
    return await forward(gateway.auth, "GET", "/v1/widget-settings")


@router.put("/v1/widget-settings", response_model=WidgetSettings, responses=problem_responses(), tags=["admin"])
async def put_widget_settings(body: WidgetSettings, admin: Admin, gateway: GatewayDep) -> Response:
    """Which sites may embed the widget, and its name, colour, avatar and greeting (frames see it within 30 s)."""
    updating = forward(gateway.auth, "PUT", "/v1/widget-settings", body=body)
    return await audited(gateway, admin, "widget_settings.update", updating, target_type="widget_settings")


@router.post(
    "/v1/conversations/{conversation_id}/csat",
    status_code=201,
    response_model=Csat,
    responses={200: {"model": Csat, "description": "Replaced an earlier rating."}, **problem_responses(404, 409)},
    tags=["conversations"],
)
async def give_csat(conversation_id: UUID, body: CsatCreate, _customer: Customer, gateway: GatewayDep) -> Response:
    """Rate a resolved or closed conversation from 1 to 5 (the widget asks once a person resolved it)."""
    path = internal_path(f"/v1/conversations/{conversation_id}/csat")
    return await forward(gateway.sessions, "POST", path, body=body)
