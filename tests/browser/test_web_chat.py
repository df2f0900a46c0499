"""The web chat page in headless Chromium against the whole stack (``make run``'s command).

A customer, with the keyboard only: sends a message and watches the answer stream in, rates it and comments,
asks for a person and sees the agent's reply. Then what a customer sees when things go wrong: a rate limit
(with the wait), an answer cut short by the engine, a link without a valid token. Screenshots go to
``build/screenshots/``.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.devrun.launcher import LocalRun

pytestmark = pytest.mark.browser

#: Records the length of the newest answer each time it changes (proves it streamed, not arrived at once).
WATCH_ANSWER = """() => {
  window.answerLengths = [];
  new MutationObserver(() => {
    const answers = document.querySelectorAll('.message--assistant .message__text');
    const last = answers[answers.length - 1];
    if (last) window.answerLengths.push(last.textContent.length);
  }).observe(document.getElementById('log'), {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture
def api(local_run: LocalRun) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_run.info.gateway_url, timeout=30) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def widget_link(api: httpx.Client, key: str, end_user: str) -> str:
    """The link an embedding company would give its visitor (a widget token minted by its backend)."""
    response = api.post("/v1/widget-tokens", json={"end_user_id": end_user}, headers=bearer(key))
    response.raise_for_status()
    return f"{str(api.base_url).rstrip('/')}/chat#token={response.json()['access_token']}"


def open_chat(page: Page, link: str) -> None:
    page.goto(link)
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def agent_token(api: httpx.Client, run: LocalRun) -> str:
    login = {"tenant": run.info["tenant"], "email": run.info["admin_email"], "password": run.info["admin_password"]}
    response = api.post("/v1/auth/token", json=login)
    response.raise_for_status()
    return str(response.json()["access_token"])


def test_a_customer_chats_rates_and_reaches_a_person_with_the_keyboard(
    page: Page, local_run: LocalRun, api: httpx.Client, screenshots: Path
) -> None:
    page.clock.install()  # real time flows; the poll for agent replies can be fast-forwarded
    open_chat(page, widget_link(api, local_run.info.api_key, f"visitor-{secrets.token_hex(4)}"))
    assert "token" not in page.url  # the token left the address bar (and never reached a server)

    # labelled controls, reachable by keyboard, with a visible focus ring
    message_box = page.get_by_role("textbox", name="Your message")
    expect(page.get_by_role("log", name="Conversation")).to_be_visible()
    page.keyboard.press("Tab")
    expect(message_box).to_be_focused()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"

    # send with Enter; the answer streams into the live region
    page.evaluate(WATCH_ANSWER)
    page.keyboard.type("Hello! My parcel has not arrived yet. Can you help me track it?")
    page.keyboard.press("Enter")
    expect(page.locator("#log")).to_have_attribute("aria-busy", "true")
    answer = page.locator(".message--assistant").last
    expect(answer.get_by_role("group", name="Was this answer helpful?")).to_be_visible(timeout=30_000)
    expect(page.locator("#log")).to_have_attribute("aria-busy", "false")
    lengths: list[int] = page.evaluate("() => window.answerLengths")
    assert len(set(lengths)) > 5, f"the answer did not stream: {lengths}"
    assert lengths == sorted(lengths)
    text = answer.locator(".message__text").inner_text()
    assert len(text) > 40

    # rate it with the keyboard: Shift+Tab from the message box reaches the rating buttons
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    helpful = answer.get_by_role("button", name="Helpful", exact=True)
    expect(helpful).to_be_focused()
    with page.expect_response(lambda response: response.url.endswith("/feedback")) as rated:
        page.keyboard.press("Space")
    assert rated.value.status == 201
    expect(helpful).to_have_attribute("aria-pressed", "true")
    expect(answer.get_by_role("status")).to_have_text("Thanks for your feedback.")

    # an optional comment replaces the rating with rating + comment
    page.keyboard.press("Tab")  # "Not helpful"
    page.keyboard.press("Tab")  # the comment box
    expect(answer.get_by_role("textbox", name="Anything to add? (optional)")).to_be_focused()
    page.keyboard.type("Quick and clear, thanks.")
    page.keyboard.press("Tab")
    with page.expect_response(lambda response: response.url.endswith("/feedback")) as commented:
        page.keyboard.press("Enter")
    assert commented.value.status == 200
    assert commented.value.request.post_data_json == {"rating": "up", "comment": "Quick and clear, thanks."}
    expect(answer.get_by_role("status")).to_have_text("Thank you, your comment was sent.")

    # ask for a person
    human = page.get_by_role("button", name="Talk to a person")
    human.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#conversation-state")).to_contain_text("Waiting for a person to join")
    expect(page.locator(".message--system")).to_contain_text("A human agent has been requested")
    expect(human).to_be_hidden()

    # an agent takes it and replies; the page shows it at its next poll
    conversation_id = page.evaluate("() => sessionStorage.getItem('helpline.conversationId')")
    agent = bearer(agent_token(api, local_run))
    api.post(f"/v1/agent/conversations/{conversation_id}/claim", headers=agent).raise_for_status()
    reply = {"content": "Hi, this is Dana from support. I have found your parcel: it arrives tomorrow."}
    api.post(f"/v1/agent/conversations/{conversation_id}/messages", json=reply, headers=agent).raise_for_status()
    page.clock.run_for("00:11")
    agent_message = page.locator(".message--agent")
    expect(agent_message).to_contain_text("Dana from support")
    expect(agent_message.locator(".message__who")).to_contain_text("Support agent")
    expect(page.locator("#conversation-state")).to_have_text("A person from our team is with you.")
    page.screenshot(path=screenshots / "web-chat.png", full_page=True)


def test_a_rate_limited_customer_is_told_how_long_to_wait(
    page: Page, local_run: LocalRun, api: httpx.Client, screenshots: Path
) -> None:
    admin = bearer(local_run.info.api_key)
    free = api.post(
        "/v1/api-keys",
        json={"name": "free-widget", "tier": "free", "scopes": ["widget:issue", "conversations:read"]},
        headers=admin,
    )
    free.raise_for_status()
    free_key = free.json()["key"]
    link = widget_link(api, free_key, f"visitor-{secrets.token_hex(4)}")
    # use up the key's 10 requests per minute (its widget tokens are charged to it)
    while api.get(f"/v1/conversations/{uuid.uuid4()}", headers=bearer(free_key)).status_code != 429:
        pass
    open_chat(page, link)
    page.get_by_role("textbox", name="Your message").fill("Is anyone there?")
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("You are sending messages faster than we can answer. Please wait")
    seconds = int(re.search(r"Please wait (\d+) second", alert.inner_text()).group(1))  # type: ignore[union-attr]
    assert 0 < seconds <= 60
    send = page.locator("#send")
    expect(send).to_be_disabled()
    expect(send).to_have_text(re.compile(r"^Wait \d+ s$"))
    expect(page.get_by_role("textbox", name="Your message")).to_have_value("Is anyone there?")  # nothing lost
    page.screenshot(path=screenshots / "web-chat-rate-limited.png", full_page=True)


def test_a_grounded_answer_links_its_sources_and_no_answer_offers_a_person(
    page: Page, local_run: LocalRun, api: httpx.Client, screenshots: Path
) -> None:
    open_chat(page, widget_link(api, local_run.info.api_key, f"visitor-{secrets.token_hex(4)}"))
    box = page.get_by_role("textbox", name="Your message")
    box.fill("How long do refunds take to show on my credit card?")
    page.keyboard.press("Enter")
    answer = page.locator(".message--assistant").last
    expect(answer.get_by_role("group", name="Was this answer helpful?")).to_be_visible(timeout=30_000)
    sources = answer.get_by_role("list", name="Sources")
    link = sources.get_by_role("link", name="When will I get my refund?")
    expect(link).to_have_attribute("href", "https://help.lumenloom.example/refunds/timing")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    page.screenshot(path=screenshots / "web-chat-sources.png", full_page=True)

    # a question the help centre does not cover: no guess, and a person is one click away
    box.fill("Do you sell electric bicycles?")
    page.keyboard.press("Enter")
    refusal = page.locator(".message--assistant").last
    expect(refusal.locator(".message__text")).to_contain_text("can't answer that from our help centre", timeout=30_000)
    expect(refusal.get_by_role("list", name="Sources")).to_have_count(0)
    offer = refusal.get_by_role("button", name="Yes, connect me with a person")
    offer.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#conversation-state")).to_contain_text("Waiting for a person to join")
    expect(offer).to_be_hidden()


def test_an_answer_cut_short_by_the_engine_is_marked_and_explained(
    page: Page, local_run: LocalRun, api: httpx.Client
) -> None:
    control = bearer(str(local_run.info["sim_control_token"]))
    engines = [local_run.info.url(name) for name in ("chat-engine-1", "chat-engine-2")]
    # every replica fails every answer after 4 tokens, so chat's continuations on another replica fail too
    fault = {"kind": "error", "after_tokens": 4, "count": None}
    for engine in engines:
        httpx.post(f"{engine}/sim/faults", json=fault, headers=control).raise_for_status()
    try:
        open_chat(page, widget_link(api, local_run.info.api_key, f"visitor-{secrets.token_hex(4)}"))
        page.get_by_role("textbox", name="Your message").fill("Where can I download my invoice?")
        page.keyboard.press("Enter")
        answer = page.locator(".message--assistant").last
        expect(answer.locator(".message__note")).to_have_text("This answer was interrupted.", timeout=30_000)
        expect(page.get_by_role("alert")).to_contain_text("Our assistant is not available right now")
        expect(page.get_by_role("alert")).to_contain_text("Reference:")
        assert answer.locator(".message__text").inner_text()  # the part that arrived stays on screen
        expect(page.locator("#send")).to_be_enabled()
    finally:
        for engine in engines:
            httpx.delete(f"{engine}/sim/faults", headers=control).raise_for_status()


@pytest.mark.parametrize(
    ("fragment", "message"),
    [
        ("", "This page needs a chat link from the website you came from."),
        ("#token=not-a-token", "Your chat session has expired."),
    ],
)
def test_without_a_valid_link_nothing_can_be_sent(page: Page, local_run: LocalRun, fragment: str, message: str) -> None:
    open_chat(page, f"{local_run.info.gateway_url}/chat{fragment}")
    expect(page.get_by_role("alert")).to_contain_text(message)
    expect(page.locator("#send")).to_be_disabled()
    expect(page.get_by_role("textbox", name="Your message")).to_be_disabled()


PROBLEM_CASES: list[tuple[int, dict[str, Any], str | None, str, int]] = [
    (429, {"type": "/problems/rate-limited"}, "42", "Please wait 42 seconds.", 42),
    (429, {"type": "/problems/quota-exceeded"}, "7200", "It resets in about 2 hours.", 7200),
    (429, {"type": "/problems/too-many-streams"}, "5", "try again in 5 seconds", 5),
    (401, {"type": "/problems/unauthorized"}, None, "Your chat session has expired.", 0),
    (409, {"type": "/problems/conversation-closed"}, None, "This conversation has ended.", 0),
    (422, {"type": "/problems/message-too-long"}, None, "That message is too long.", 0),
    (503, {"type": "/problems/engine-unavailable", "request_id": "r-1"}, "3", "(Reference: r-1)", 3),
    (0, {}, None, "We cannot reach the chat service.", 0),
]


@pytest.mark.parametrize(
    "case", PROBLEM_CASES, ids=[f"{case[0]}-{case[1].get('type', 'offline')}" for case in PROBLEM_CASES]
)
def test_problems_read_as_plain_words(
    page: Page, local_run: LocalRun, case: tuple[int, dict[str, Any], str | None, str, int]
) -> None:
    status, problem, retry_after, text, wait = case
    page.goto(f"{local_run.info.gateway_url}/chat")
    described = page.evaluate(
        "async ([status, problem, retryAfter]) => (await import('/chat/assets/problems.js'))"
        ".describe(status, problem, retryAfter)",
        [status, problem, retry_after],
    )
    assert text in described["text"]
    assert described["waitSeconds"] == wait


def test_the_stream_parser_accepts_any_chunking(page: Page, local_run: LocalRun) -> None:
    page.goto(f"{local_run.info.gateway_url}/chat")
    events = page.evaluate(
        """async () => {
          const { SSEParser } = await import('/chat/assets/sse.js');
          const parser = new SSEParser();
          const chunks = ['event: del', 'ta\\r', '\\ndata: {"text":"a"}\\r\\n\\r\\n: keep-alive\\n\\n',
                          'event: done\\ndata: {"x":', '1}\\n', '\\n'];
          return chunks.flatMap((chunk) => parser.feed(chunk));
        }"""
    )
    assert events == [{"event": "delta", "data": '{"text":"a"}'}, {"event": "done", "data": '{"x":1}'}]


def test_the_api_docs_render_with_every_outside_request_blocked(
    page: Page, local_run: LocalRun, screenshots: Path
) -> None:
    base = local_run.info.gateway_url.rstrip("/")
    outside: list[str] = []

    def only_this_origin(route: Any) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_origin)
    page.goto(f"{base}/docs")
    expect(page.locator(".opblock-summary-path", has_text="/v1/models").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/v1/conversations").first).to_be_visible()
    assert outside == []
    page.screenshot(path=str(screenshots / "api-docs.png"))


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_a_long_conversation_scrolls_inside_and_the_composer_stays_in_view(
    browser: Any, local_run: LocalRun, api: httpx.Client, screenshots: Path, *, width: int, height: int
) -> None:
    """30 messages (a conversation with a person, so nothing waits for an engine): header and composer stay on
    screen at desktop and phone size, and only the conversation scrolls."""
    end_user = f"long-{secrets.token_hex(4)}"
    link = widget_link(api, local_run.info.api_key, end_user)
    token = link.split("#token=", 1)[1]
    conversation = api.post("/v1/conversations", json={}, headers=bearer(token)).json()["id"]
    api.post(f"/v1/conversations/{conversation}/handoff", json={}, headers=bearer(token)).raise_for_status()
    for number in range(29):
        sent = api.post(
            f"/v1/conversations/{conversation}/messages",
            json={"content": f"Message {number + 1}: my parcel still has not arrived, any news?"},
            headers=bearer(token),
        )
        sent.raise_for_status()

    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=width < 600)
    page = context.new_page()
    try:
        open_chat(page, link)
        page.evaluate("id => sessionStorage.setItem('helpline.conversationId', id)", conversation)
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        expect(page.locator(".message")).to_have_count(30, timeout=10_000)  # 29 + the handoff notice
        box = page.get_by_role("textbox", name="Your message")
        box.fill("And one more from the page.")
        box.press("Enter")
        expect(page.locator(".message").last).to_contain_text("one more from the page")

        for control in (box, page.get_by_role("button", name="Send"), page.get_by_role("heading", level=1)):
            bounds = control.bounding_box()
            assert bounds is not None
            assert bounds["y"] >= 0, (control, bounds)
            assert bounds["y"] + bounds["height"] <= height, (control, bounds)
        scroll = page.evaluate(
            "() => { const log = document.getElementById('log');"
            " return {page: document.scrollingElement.scrollHeight, log: log.scrollHeight, view: log.clientHeight}; }"
        )
        assert scroll["page"] <= height  # the page never grows past the window
        assert scroll["log"] > scroll["view"]  # the conversation scrolls inside
        if width < 600:
            expect(page.locator("#message-hint")).to_be_hidden()  # no "Press Enter" on a touch screen
        page.screenshot(path=str(screenshots / f"web-chat-long-{width}x{height}.png"))
    finally:
        context.close()
