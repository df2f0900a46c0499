"""The embeddable widget in headless Chromium: a company's page on another loopback origin embeds it with one tag.

The host pages are served by the test (``HostSite``) under a strict CSP of their own (scripts and frames from the
chat origin only, no inline anything), so the loader is proven to work on a locked-down site. A visitor opens the
launcher with the keyboard and talks to the real services; the conversation survives a page load; an agent's
reply raises the unread badge; a resolved conversation asks for a rating (CSAT); a site not on the tenant's list
cannot frame the chat; and at 1280x800 and 390x844 a long conversation keeps the composer on screen.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, FrameLocator, Page, expect

from app.core.waits import scaled
from app.devrun.launcher import LocalRun

pytestmark = pytest.mark.browser

BRAND = "Acme Parcels"
#: A 1x1 teal PNG: the tenant's avatar (a data: URL, the only kind of image the frame's CSP admits).
AVATAR = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5E"
    "rkJggg=="
)
FRAME = "iframe[title^='Chat']"
#: The frame reads a person's replies every 10 s (a cross-origin frame's timers are not Playwright's fake clock).
POLL_WAIT_MS = scaled(30_000)
#: Playwright's default for expect(); the stack's start, the frame's handshake and streaming scale with the load.
EXPECT_MS = 5_000


@pytest.fixture(autouse=True)
def scaled_expectations() -> Iterator[None]:
    expect.set_options(timeout=scaled(EXPECT_MS))
    try:
        yield
    finally:
        expect.set_options(timeout=EXPECT_MS)


class HostSite:
    """A company's web page on its own loopback origin, embedding the widget with one tag, under a strict CSP."""

    def __init__(self, chat_origin: str, key_id: str, mint_token: Callable[[], str] | None = None) -> None:
        token_attribute = " data-token-url='/token'" if mint_token else ""
        page = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Acme Parcels: track a parcel</title>"
            f"<script src='{chat_origin}/widget.js' data-key='{key_id}'{token_attribute} async></script></head>"
            "<body><h1>Track your parcel</h1><p>Our shop's own page.</p><a href='/other'>Another page</a></body></html>"
        ).encode()
        policy = f"default-src 'none'; script-src {chat_origin}; frame-src {chat_origin}; connect-src 'self'; base-uri 'none'"

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                # /token: what the company's backend does for its logged-in customer (mint with its API key)
                body, media_type = (
                    (json.dumps({"access_token": mint_token()}).encode(), "application/json")
                    if mint_token and self.path == "/token"
                    else (page, "text/html; charset=utf-8")
                )
                self.send_response(200)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Security-Policy", policy)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HostSite:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@dataclass(frozen=True)
class Embedding:
    key_id: str
    site: HostSite
    other_site: HostSite
    customer_site: HostSite  # minting tokens for its logged-in customer (data-token-url)
    gateway: str
    admin: dict[str, str]


CUSTOMER = "customer-42"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def embedding(local_run: LocalRun) -> Iterator[Embedding]:
    gateway = local_run.info.gateway_url.rstrip("/")
    admin = bearer(local_run.info.api_key)
    with httpx.Client(base_url=gateway, timeout=30) as api:
        created = api.post(
            "/v1/api-keys",
            json={
                "name": "website widget",
                "tier": "enterprise",
                "scopes": ["widget:issue", "conversations:read", "conversations:write"],
            },
            headers=admin,
        )
        created.raise_for_status()
        key_id, key = created.json()["id"], created.json()["key"]

        def mint_token() -> str:
            with httpx.Client(base_url=gateway, timeout=30) as backend:
                minted = backend.post("/v1/widget-tokens", json={"end_user_id": CUSTOMER}, headers=bearer(key))
                return str(minted.raise_for_status().json()["access_token"])

        with (
            HostSite(gateway, key_id) as site,
            HostSite(gateway, key_id) as other_site,
            HostSite(gateway, key_id, mint_token) as customer_site,
        ):
            settings = {
                "allowed_origins": [site.origin, customer_site.origin],
                "brand_name": BRAND,
                "accent_colour": "#0b6e4f",
                "avatar": AVATAR,
                "greeting": "Hi! I am Acme's assistant. Ask me about your parcel.",
            }
            api.put("/v1/widget-settings", json=settings, headers=admin).raise_for_status()
            yield Embedding(
                key_id=key_id,
                site=site,
                other_site=other_site,
                customer_site=customer_site,
                gateway=gateway,
                admin=admin,
            )


@pytest.fixture
def visitor(browser: Browser) -> Iterator[BrowserContext]:
    """A new visitor's browser (its own storage), failing the test on any script error in the page or frame."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    context.on("console", on_console)
    context.on("weberror", lambda error: errors.append(str(error.error)))
    try:
        yield context
    finally:
        context.close()
    assert not errors, f"the page or the widget logged errors: {errors}"


def open_widget(page: Page) -> FrameLocator:
    launcher = page.get_by_role("button", name=f"Chat with {BRAND}")
    expect(launcher).to_be_visible(timeout=scaled(20_000))
    launcher.focus()
    page.keyboard.press("Enter")
    chat = page.frame_locator(FRAME)
    expect(chat.get_by_role("textbox", name="Your message")).to_be_focused()
    return chat


def test_a_visitor_talks_to_the_assistant_from_a_company_page(
    visitor: BrowserContext, embedding: Embedding, screenshots: Path
) -> None:
    page = visitor.new_page()
    page.goto(embedding.site.origin)
    expect(page.locator("[data-helpline-launcher]")).to_have_attribute("aria-expanded", "false", timeout=scaled(20_000))
    chat = open_widget(page)
    expect(page.locator("[data-helpline-launcher]")).to_have_attribute("aria-expanded", "true")

    # the tenant's branding, the greeting, the avatar
    expect(chat.get_by_role("heading", level=1)).to_have_text(BRAND)
    expect(chat.locator(".message--greeting")).to_contain_text("Acme's assistant")
    header = chat.locator(".widget__header")
    assert header.evaluate("node => getComputedStyle(node).backgroundColor") == "rgb(11, 110, 79)"
    assert header.evaluate("node => getComputedStyle(node).color") == "rgb(255, 255, 255)"
    expect(chat.locator("#brand-avatar")).to_be_visible()

    # a turn, streamed by the real services, with a timestamp
    page.keyboard.type("Hello! Where is my parcel?")
    page.keyboard.press("Enter")
    answer = chat.locator(".message--assistant:not(.message--greeting)").last
    expect(answer.get_by_role("group", name="Was this answer helpful?")).to_be_visible(timeout=scaled(30_000))
    assert len(answer.locator(".message__text").inner_text()) > 20
    expect(answer.locator("time")).to_have_attribute("datetime", re.compile(r"^20\d\d-"))
    page.screenshot(path=str(screenshots / "widget-desktop.png"))

    # Escape closes it and gives the focus back to the launcher
    page.keyboard.press("Escape")
    launcher = page.get_by_role("button", name=f"Chat with {BRAND}")
    expect(launcher).to_be_focused()
    expect(page.locator(FRAME)).to_be_hidden()

    # the conversation survives a page load (same visitor, same conversation)
    page.goto(f"{embedding.site.origin}/other")
    chat = open_widget(page)
    expect(chat.locator(".message--customer")).to_contain_text("Where is my parcel?")
    expect(chat.locator(".message--assistant:not(.message--greeting)")).to_have_count(1)


def test_an_agent_reply_raises_the_badge_and_a_resolution_asks_for_a_rating(
    visitor: BrowserContext, embedding: Embedding, local_run: LocalRun, screenshots: Path
) -> None:
    page = visitor.new_page()
    page.goto(embedding.site.origin)
    chat = open_widget(page)
    chat.get_by_role("button", name="Talk to a person").click()
    expect(chat.locator("#conversation-state")).to_contain_text("Waiting for a person")
    expect(chat.locator(".message--system")).to_have_count(1)  # the notice that a person was asked for
    frame = page.frame(url=lambda url: "/widget/frame" in url)
    assert frame is not None
    conversation = frame.evaluate("() => sessionStorage.getItem('helpline.conversationId')")
    page.keyboard.press("Escape")

    with httpx.Client(base_url=embedding.gateway, timeout=30) as api:
        login = {
            "tenant": local_run.info["tenant"],
            "email": local_run.info["admin_email"],
            "password": local_run.info["admin_password"],
        }
        agent = bearer(api.post("/v1/auth/token", json=login).raise_for_status().json()["access_token"])
        api.post(f"/v1/agent/conversations/{conversation}/claim", headers=agent).raise_for_status()
        reply = {"content": "Hi, this is Dana. Your parcel arrives tomorrow morning."}
        api.post(f"/v1/agent/conversations/{conversation}/messages", json=reply, headers=agent).raise_for_status()
        launcher = page.locator("[data-helpline-launcher]")
        badge = page.locator("[data-helpline-badge]")
        expect(badge).to_be_visible(timeout=POLL_WAIT_MS)  # the frame polls every 10 s while a person handles it
        expect(badge).to_have_text("2")  # "an agent joined" and Dana's reply
        expect(launcher).to_have_attribute("aria-label", f"Chat with {BRAND} (2 unread messages)")
        page.screenshot(path=str(screenshots / "widget-unread.png"))

        chat = open_widget(page)
        expect(badge).to_be_hidden()
        expect(chat.locator(".message--agent")).to_contain_text("Dana")

        api.post(f"/v1/agent/conversations/{conversation}/resolve", headers=agent).raise_for_status()
        resolved = chat.locator("#conversation-state")
        expect(resolved).to_have_text("This conversation has been resolved.", timeout=POLL_WAIT_MS)
        csat = chat.get_by_role("region", name="How was your conversation with us?")
        expect(csat).to_be_visible()
        chat.get_by_text("4 Good").click()
        chat.get_by_role("textbox", name="Anything we could do better? (optional)").fill("Fast and friendly.")
        with page.expect_response(lambda response: response.url.endswith("/csat")) as rated:
            chat.get_by_role("button", name="Send rating").click()
        assert rated.value.status == 201
        assert rated.value.request.post_data_json == {"score": 4, "comment": "Fast and friendly."}
        expect(chat.get_by_role("status").filter(has_text="Thank you for your rating.")).to_be_visible()
        page.screenshot(path=str(screenshots / "widget-csat.png"))


def test_a_logged_in_customer_chats_as_themselves_with_the_sites_token(
    visitor: BrowserContext, embedding: Embedding
) -> None:
    page = visitor.new_page()
    with page.expect_response(lambda response: response.url.endswith("/token")) as minted:
        page.goto(embedding.customer_site.origin)  # the loader asks the site for its customer's token
    assert minted.value.ok
    chat = open_widget(page)
    chat.get_by_role("button", name="Talk to a person").click()
    expect(chat.locator("#conversation-state")).to_contain_text("Waiting for a person")
    frame = page.frame(url=lambda url: "/widget/frame" in url)
    assert frame is not None
    conversation = frame.evaluate("() => sessionStorage.getItem('helpline.conversationId')")
    with httpx.Client(base_url=embedding.gateway, timeout=30) as api:
        seen = api.get(f"/v1/conversations/{conversation}", headers=embedding.admin).raise_for_status().json()
    assert seen["customer_ref"] == CUSTOMER  # the site's own customer id, not an anonymous visitor


def test_a_site_not_on_the_tenants_list_cannot_frame_the_chat(browser: Browser, embedding: Embedding) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        refusal = lambda message: "frame-ancestors" in message.text  # noqa: E731
        with context.expect_event("console", predicate=refusal, timeout=scaled(20_000)):
            page.goto(embedding.other_site.origin)
        expect(page.locator(FRAME)).to_have_count(1)
        # the launcher appears only when the frame says it runs: a refused frame never does
        expect(page.locator("[data-helpline-launcher]")).to_be_hidden()
        frame = page.frame(url=lambda url: "/widget/frame" in url)
        assert frame is None or not frame.evaluate("() => document.body && document.body.dataset.ready === 'true'")
    finally:
        context.close()
    with httpx.Client(base_url=embedding.gateway, timeout=30) as api:
        headers = api.get("/widget/frame", params={"key": embedding.key_id}).headers
        ancestors = headers["content-security-policy"].split("frame-ancestors ", 1)[1].split()
        assert embedding.site.origin in ancestors
        assert embedding.other_site.origin not in ancestors
        asked = {"key_id": embedding.key_id, "host_origin": embedding.other_site.origin}
        refused_token = api.post("/v1/widget/sessions", json=asked)
        assert refused_token.status_code == 403
        assert refused_token.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_a_long_conversation_keeps_the_composer_in_view(
    browser: Browser, embedding: Embedding, screenshots: Path, *, width: int, height: int
) -> None:
    """30 messages (with a person, so nothing waits for an engine), then one more typed in the widget."""
    with httpx.Client(base_url=embedding.gateway, timeout=30) as api:
        asked = {"key_id": embedding.key_id, "host_origin": embedding.site.origin}
        session = api.post("/v1/widget/sessions", json=asked).raise_for_status().json()
        token = bearer(session["access_token"])
        conversation = api.post("/v1/conversations", json={}, headers=token).raise_for_status().json()["id"]
        api.post(f"/v1/conversations/{conversation}/handoff", json={}, headers=token).raise_for_status()
        for number in range(29):
            content = f"Message {number + 1}: my parcel still has not arrived, any news? {secrets.token_hex(2)}"
            api.post(
                f"/v1/conversations/{conversation}/messages", json={"content": content}, headers=token
            ).raise_for_status()

    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=width < 600)
    page = context.new_page()
    try:
        page.goto(embedding.site.origin)
        open_widget(page)
        frame = page.frame(url=lambda url: "/widget/frame" in url)
        assert frame is not None
        frame.evaluate(
            "([key, secret, conversation]) => {"
            " localStorage.setItem(`helpline.widget.${key}.visitor`, secret);"
            " localStorage.setItem(`helpline.widget.${key}.conversation`, conversation); }",
            [embedding.key_id, session["visitor_secret"], conversation],
        )
        page.reload()
        chat = page.frame_locator(FRAME)
        expect(chat.locator(".message:not(.message--greeting)")).to_have_count(30, timeout=scaled(20_000))
        box = chat.get_by_role("textbox", name="Your message")
        box.fill("And one more from the widget.")
        box.press("Enter")
        expect(chat.locator(".message").last).to_contain_text("one more from the widget")

        for control in (box, chat.get_by_role("button", name="Send"), chat.get_by_role("heading", level=1)):
            bounds = control.bounding_box()
            assert bounds is not None
            assert bounds["y"] >= 0, (control, bounds)
            assert bounds["y"] + bounds["height"] <= height, (control, bounds)
            assert bounds["x"] >= 0, (control, bounds)
            assert bounds["x"] + bounds["width"] <= width, (control, bounds)
        scroll = chat.locator("#log").evaluate(
            "log => ({page: document.scrollingElement.scrollHeight, view: innerHeight,"
            " log: log.scrollHeight, shown: log.clientHeight})"
        )
        assert scroll["page"] <= scroll["view"]  # the frame's page never grows past the frame
        assert scroll["log"] > scroll["shown"]  # the conversation scrolls inside
        frame_box = page.locator(FRAME).bounding_box()
        assert frame_box is not None
        if width < 600:
            assert (frame_box["width"], frame_box["height"]) == (width, height)  # full screen on a phone
            expect(page.locator("[data-helpline-launcher]")).to_be_hidden()
            expect(chat.locator("#message-hint")).to_be_hidden()  # no "Enter sends" on a touch screen
        else:
            assert frame_box["width"] == 380
        page.screenshot(path=str(screenshots / f"widget-long-{width}x{height}.png"))
    finally:
        context.close()
