"""The edge routes every public route of the gateway and none of its operational endpoints."""

from __future__ import annotations

from starlette.routing import BaseRoute

from app.contracts.edge import OPERATIONAL_PATHS, PUBLIC_PATH_PREFIXES, is_public
from app.gateway.app import build_app
from app.gateway.settings import GatewaySettings


def _paths(routes: list[BaseRoute]) -> set[str]:
    return {path for route in routes if isinstance(path := getattr(route, "path", None), str)}


def test_every_documented_route_and_the_web_chat_are_public() -> None:
    app = build_app(GatewaySettings(environment="development"))
    public = set(app.openapi()["paths"]) | {"/chat", "/chat/assets/app.js", "/docs", "/openapi.json"}
    assert {path for path in public if not is_public(path)} == set()


def test_operational_endpoints_are_served_but_not_routed_from_the_internet() -> None:
    app = build_app(GatewaySettings(environment="development"))
    assert set(OPERATIONAL_PATHS) <= _paths(app.routes)
    assert not any(is_public(path) for path in OPERATIONAL_PATHS)
    assert not is_public("/chatter")  # prefixes match whole path segments, as Gateway API's PathPrefix does
    assert all(prefix.startswith("/") and not prefix.endswith("/") for prefix in PUBLIC_PATH_PREFIXES)
