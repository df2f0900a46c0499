"""``GET /agent``: the agent workspace page and its files, under the same strict CSP as the web chat, never framed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from app.gateway.app import build_app
from app.gateway.routes.agent_workspace import AGENT_DIR, OWN_ASSETS, SHARED_ASSETS
from app.gateway.settings import GatewaySettings
from tests.app.harness import random_secret, serve_app


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(environment="test", internal_token_secret=random_secret(), log_level="WARNING")  # type: ignore[arg-type]
    async with serve_app(build_app(settings)) as server, httpx.AsyncClient(base_url=server.base_url) as http:
        yield http


async def test_the_page_has_a_strict_policy_and_cannot_be_framed(client: httpx.AsyncClient) -> None:
    response = await client.get("/agent")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = dict(directive.split(" ", 1) for directive in response.headers["content-security-policy"].split("; "))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "<script>" not in response.text  # no inline script: the CSP would block it


async def test_every_file_the_page_loads_is_served_and_nothing_else(client: httpx.AsyncClient) -> None:
    page = (await client.get("/agent")).text
    referenced = set(re.findall(r'(?:src|href)="(/agent/assets/[^"]+)"', page))
    imports = re.findall(r'from "\./([^"]+)"', (AGENT_DIR / "agent.js").read_text())
    referenced |= {f"/agent/assets/{name}" for name in imports}
    expected = {f"/agent/assets/{name}" for name in {*OWN_ASSETS.types, *SHARED_ASSETS.types}}
    assert referenced == expected
    for path in referenced:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "content-security-policy" in response.headers
    assert (await client.get("/agent/assets/chat.js")).status_code == 404  # only the workspace's own set
    assert (await client.get("/agent/assets/..%2Fchat.html")).status_code == 404


async def test_no_file_names_another_host(client: httpx.AsyncClient) -> None:
    for name in ("agent.html", "agent.js", "agent.css"):
        text = (AGENT_DIR / name).read_text()
        assert not re.search(r"https?://", text), name
