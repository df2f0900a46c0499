"""``GET /chat``: the page and its files, their security headers and caching, and what the CSP requires of them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from app.gateway.app import build_app
from app.gateway.routes.webchat import ASSET_TYPES
from app.gateway.settings import GatewaySettings
from app.gateway.static_files import STATIC_DIR
from tests.app.harness import random_secret, serve_app


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # The page needs no downstream service: a gateway on its in-memory store is enough.
    settings = GatewaySettings(environment="test", internal_token_secret=random_secret(), log_level="WARNING")  # type: ignore[arg-type]
    async with serve_app(build_app(settings)) as server, httpx.AsyncClient(base_url=server.base_url) as http:
        yield http


async def test_the_page_is_served_with_a_strict_content_security_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/chat")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = dict(directive.split(" ", 1) for directive in response.headers["content-security-policy"].split("; "))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"  # no inline script, no eval, no third party
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-request-id"]


async def test_every_file_the_page_loads_is_served_with_its_type(client: httpx.AsyncClient) -> None:
    page = (await client.get("/chat")).text
    referenced = set(re.findall(r'(?:src|href)="(/chat/assets/[^"]+)"', page))
    scripts = [name for name in ASSET_TYPES if name.endswith(".js")]
    for script in scripts:  # modules import each other: every one is reachable
        referenced |= {
            f"/chat/assets/{name}" for name in re.findall(r'from "\./([^"]+)"', (STATIC_DIR / script).read_text())
        }
    assert referenced == {f"/chat/assets/{name}" for name in ASSET_TYPES}
    for path in referenced:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == ASSET_TYPES[path.rsplit("/", 1)[1]]
        assert "content-security-policy" in response.headers


async def test_unchanged_files_revalidate_with_a_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/chat/assets/chat.js")
    assert first.headers["cache-control"] == "no-cache"
    again = await client.get("/chat/assets/chat.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize("path", ["/chat/assets/chat.html", "/chat/assets/..%2Fapp.py", "/chat/assets/missing.js"])
async def test_nothing_else_is_served_from_the_folder(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_the_page_needs_nothing_the_policy_forbids() -> None:
    html = (STATIC_DIR / "chat.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline <script>"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert "style=" not in html, "inline style attribute"
    assert "<style" not in html, "inline stylesheet"
    for name in ASSET_TYPES:
        if name.endswith(".js"):
            source = (STATIC_DIR / name).read_text()
            # text goes in with textContent only: no HTML parsing of anything a customer or the model wrote
            assert "innerHTML" not in source, name
            assert "insertAdjacentHTML" not in source, name
            assert "eval(" not in source, name
            assert "new Function" not in source, name
            assert ".style." not in source, name  # style attributes would need 'unsafe-inline'


def test_the_page_labels_its_controls() -> None:
    html = (STATIC_DIR / "chat.html").read_text()
    assert '<label for="message"' in html
    assert 'role="log"' in html
    assert 'aria-live="polite"' in html
    assert 'role="alert"' in html
    assert '<html lang="en">' in html


async def test_the_api_docs_are_self_hosted_under_the_same_policy(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text  # no inline script
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert all(source.startswith("/docs/assets/") or source == "data:," for source in sources), sources
    for source in sources[1:]:
        asset = await client.get(source)
        assert asset.status_code == 200, source
        assert asset.headers["content-type"].startswith(("text/javascript", "text/css"))
    assert (await client.get("/docs/assets/index.html")).status_code == 404  # only the files the page loads
