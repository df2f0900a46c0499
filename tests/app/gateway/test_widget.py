"""The widget's server side, on the real auth service: settings, the frame's headers, visitor sessions.

The browser half (the loader, the frame, a host page on another origin) is ``tests/browser/test_widget.py``.
"""

from __future__ import annotations

import httpx
import jwt
import pytest

from app.contracts.api import Scope, Tier
from app.contracts.widget import normalise_origin, origin_allowed
from app.gateway.app import build_app as build_gateway_app
from app.gateway.settings import GatewaySettings
from tests.app.gateway.conftest import RunningService, Tenant, provision
from tests.app.harness import serve_app

SITE = "https://www.acme.example"


def subject_of(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://WWW.Acme.example/", "https://www.acme.example"),
        ("https://shop.acme.example:8443", "https://shop.acme.example:8443"),
        ("https://*.acme.example", "https://*.acme.example"),
        ("http://127.0.0.1:5173", "http://127.0.0.1:5173"),
        ("http://localhost:3000", "http://localhost:3000"),
    ],
)
def test_origins_are_normalised(given: str, expected: str) -> None:
    assert normalise_origin(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("http://www.acme.example", "plain http"),
        ("https://www.acme.example/shop", "more than an origin"),
        ("https://www.acme.example?x=1", "more than an origin"),
        ("*", "not an origin"),
        ("https://*", "not an origin"),
        ("javascript:alert(1)", "not an origin"),
        ("https://user:pw@acme.example", "more than an origin"),
    ],
)
def test_anything_wider_than_an_origin_is_refused_with_the_reason(given: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalise_origin(given)


def test_a_wildcard_admits_subdomains_only_on_its_scheme() -> None:
    allowed = ["https://*.acme.example", "http://127.0.0.1:8000"]
    assert origin_allowed("https://shop.acme.example", allowed)
    assert origin_allowed("http://127.0.0.1:8000", allowed)
    assert not origin_allowed("https://acme.example.evil.test", allowed)
    assert not origin_allowed("http://shop.acme.example", allowed)
    assert not origin_allowed("http://127.0.0.1:8001", allowed)
    assert not origin_allowed("null", allowed)


async def set_up(gateway: httpx.AsyncClient, tenant: Tenant, **settings: object) -> httpx.Response:
    body = {"allowed_origins": [SITE], "brand_name": "Acme", **settings}
    return await gateway.put("/v1/widget-settings", json=body, headers=tenant.headers)


async def test_an_admin_sets_the_widget_and_every_bad_field_is_named_at_once(
    gateway: httpx.AsyncClient, acme: Tenant
) -> None:
    fresh = await gateway.get("/v1/widget-settings", headers=acme.headers)
    assert fresh.status_code == 200
    assert fresh.json()["allowed_origins"] == []  # nobody may frame it until an admin says who

    bad = await set_up(
        gateway, acme, allowed_origins=["http://shop.example", "https://ok.example/path"], accent_colour="blue"
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    text = bad.text
    assert "plain http" in text
    assert "more than an origin" in text
    assert "accent_colour" in text

    good = await set_up(gateway, acme, allowed_origins=[f"{SITE}/", SITE.upper()])
    assert good.status_code == 200, good.text
    assert good.json()["allowed_origins"] == [SITE]


async def test_the_frame_may_be_framed_only_by_the_tenants_sites(gateway: httpx.AsyncClient, acme: Tenant) -> None:
    assert (await set_up(gateway, acme, allowed_origins=[SITE, "https://*.acme.example"])).status_code == 200
    frame = await gateway.get("/widget/frame", params={"key": str(acme.key_id)})
    assert frame.status_code == 200
    policy = dict(directive.split(" ", 1) for directive in frame.headers["content-security-policy"].split("; "))
    assert policy["frame-ancestors"] == f"https://*.acme.example {SITE}"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"

    loader = await gateway.get("/widget.js")
    assert loader.status_code == 200
    assert loader.headers["content-type"] == "text/javascript; charset=utf-8"
    assert loader.headers["cross-origin-resource-policy"] == "cross-origin"

    config = await gateway.get("/v1/widget/config", params={"key": str(acme.key_id)})
    assert config.status_code == 200
    assert config.json()["brand_name"] == "Acme"


async def test_a_key_without_a_widget_frames_nothing(
    gateway: httpx.AsyncClient, acme: Tenant, auth_service: RunningService
) -> None:
    # no settings yet
    assert (await gateway.get("/widget/frame", params={"key": str(acme.key_id)})).status_code == 404
    # a key that may not issue widget tokens
    reader = await provision(auth_service, "reader-co", Tier.STANDARD, scopes=[Scope.CONVERSATIONS_READ, Scope.ADMIN])
    assert (await set_up(gateway, reader)).status_code == 200
    refused = await gateway.get("/v1/widget/config", params={"key": str(reader.key_id)})
    assert refused.status_code == 404
    assert "widget:issue" in refused.json()["detail"]


async def test_visitors_get_tokens_on_allowed_sites_and_come_back_as_themselves(
    gateway: httpx.AsyncClient, acme: Tenant
) -> None:
    assert (await set_up(gateway, acme)).status_code == 200
    asked = {"key_id": str(acme.key_id), "host_origin": SITE}
    first = await gateway.post("/v1/widget/sessions", json=asked)
    assert first.status_code == 200, first.text
    session = first.json()
    assert session["expires_in"] == 900
    subject = subject_of(session["access_token"])
    assert subject.startswith("visitor-")
    assert session["visitor_secret"] not in subject  # the secret is never the identity agents see

    again = await gateway.post("/v1/widget/sessions", json={**asked, "visitor_secret": session["visitor_secret"]})
    assert subject_of(again.json()["access_token"]) == subject
    other = await gateway.post("/v1/widget/sessions", json=asked)
    assert subject_of(other.json()["access_token"]) != subject

    token = {"Authorization": f"Bearer {session['access_token']}"}
    created = await gateway.post("/v1/conversations", json={}, headers=token)
    assert created.status_code == 201, created.text
    assert created.json()["customer_ref"] == subject

    elsewhere = await gateway.post("/v1/widget/sessions", json={**asked, "host_origin": "https://evil.example"})
    assert elsewhere.status_code == 403
    assert "not allowed to embed" in elsewhere.json()["detail"]


async def test_a_revoked_key_stops_new_visitor_sessions(gateway: httpx.AsyncClient, acme: Tenant) -> None:
    assert (await set_up(gateway, acme)).status_code == 200
    assert (await gateway.delete(f"/v1/api-keys/{acme.key_id}", headers=acme.headers)).status_code == 204
    asked = {"key_id": str(acme.key_id), "host_origin": SITE}
    assert (await gateway.post("/v1/widget/sessions", json=asked)).status_code == 404


async def test_one_address_may_start_only_so_many_visitor_sessions_a_minute(
    gateway_settings: GatewaySettings, acme: Tenant
) -> None:
    settings = gateway_settings.model_copy(update={"widget_sessions_per_client_per_minute": 3})
    async with (
        serve_app(build_gateway_app(settings)) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=10) as gateway,
    ):
        assert (await set_up(gateway, acme)).status_code == 200
        asked = {"key_id": str(acme.key_id), "host_origin": SITE}
        statuses = [(await gateway.post("/v1/widget/sessions", json=asked)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = await gateway.post("/v1/widget/sessions", json=asked)
        assert 0 < int(refused.headers["retry-after"]) <= 60
        assert refused.json()["type"] == "/problems/rate-limited"
