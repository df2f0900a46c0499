"""The agent workspace in headless Chromium against the whole stack, with a customer on the web chat beside it.

An agent signs in with the keyboard, sees a customer's request for a person arrive without reloading, opens it
(the classifier's intent and emotion beside each customer message), claims it, replies; the customer's chat
shows the reply, the customer answers and the agent sees it live; the agent resolves. A colleague sees the
conversation taken and cannot answer it; a conversation handed back goes to the assistant again. Screenshots
(1280x800) go to ``build/screenshots/``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from app.devrun.launcher import LocalRun
from tests.browser.test_web_chat import agent_token, bearer, open_chat, widget_link

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 800}
PASSWORD = "agent-password-" + secrets.token_hex(8)


@pytest.fixture
def api(local_run: LocalRun) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_run.info.gateway_url, timeout=30) as client:
        yield client


@dataclass
class Contexts:
    """The browser contexts a test opens (agents, customers), each with its own storage, and what they logged."""

    opened: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def contexts() -> Iterator[Contexts]:
    opened = Contexts()
    yield opened
    for context in opened.opened:
        context.close()
    assert not opened.errors, f"the pages logged errors: {opened.errors}"


def new_page(browser: Browser, contexts: Contexts) -> Page:
    context = browser.new_context(viewport=DESKTOP)
    contexts.opened.append(context)
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        # HTTP error statuses the page handles (401, 409...) are logged by Chromium as "Failed to load resource"
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            contexts.errors.append(message.text)

    page.on("pageerror", lambda error: contexts.errors.append(str(error)))
    page.on("console", on_console)
    return page


def new_agent(api: httpx.Client, run: LocalRun) -> str:
    """A person with the agent role, created by the demo tenant's admin; returns the email."""
    email = f"agent-{secrets.token_hex(4)}@demo.example"
    created = api.post(
        "/v1/users",
        json={"email": email, "role": "agent", "password": PASSWORD},
        headers=bearer(agent_token(api, run)),
    )
    created.raise_for_status()
    return email


def sign_in(page: Page, run: LocalRun, email: str) -> None:
    page.goto(f"{run.info.gateway_url}/agent")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.get_by_label("Workspace (tenant)")).to_be_focused()
    page.keyboard.type(str(run.info["tenant"]))
    page.keyboard.press("Tab")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("body")).to_have_attribute("data-signed-in", "true")
    expect(page.locator("#live")).to_have_text("Live")


def customer_asks_for_a_person(page: Page, api: httpx.Client, run: LocalRun, end_user: str) -> str:
    open_chat(page, widget_link(api, run.info.api_key, end_user))
    page.get_by_role("textbox", name="Your message").fill("My parcel is late and I am really annoyed. Where is it?")
    page.keyboard.press("Enter")
    expect(
        page.locator(".message--assistant").last.get_by_role("group", name="Was this answer helpful?")
    ).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Talk to a person").click()
    expect(page.locator("#conversation-state")).to_contain_text("Waiting for a person")
    return str(page.evaluate("() => sessionStorage.getItem('helpline.conversationId')"))


def test_an_agent_claims_a_waiting_conversation_and_talks_with_the_customer(
    browser: Browser, contexts: Contexts, local_run: LocalRun, api: httpx.Client, screenshots: Path
) -> None:
    agent = new_page(browser, contexts)
    sign_in(agent, local_run, new_agent(api, local_run))
    expect(agent.get_by_role("button", name="Waiting")).to_have_attribute("aria-pressed", "true")

    customer = new_page(browser, contexts)
    customer.clock.install()  # the chat polls for agent replies every 10 s: fast-forwarded below
    end_user = f"visitor-{secrets.token_hex(3)}"
    conversation_id = customer_asks_for_a_person(customer, api, local_run, end_user)

    # the waiting conversation appears in the agent's inbox by itself (the live queue), named by the customer
    item = agent.locator(f'[data-conversation-id="{conversation_id}"]')
    expect(item).to_be_visible(timeout=15_000)
    expect(item).to_contain_text(end_user)
    expect(item).to_contain_text("Waiting for a person")

    # keyboard: from the views to the item, Enter opens it
    item.focus()
    agent.keyboard.press("Enter")
    expect(agent.locator("#conversation-title")).to_have_text(end_user)
    first = agent.locator(".entry--customer").first
    expect(first).to_contain_text("My parcel is late")
    expect(first.locator(".tag--intent")).to_contain_text("intent: ")
    expect(first.locator(".tag--emotion")).to_contain_text("emotion: ")
    expect(agent.locator(".entry--assistant").first).to_be_visible()
    expect(agent.locator(".entry--system")).to_contain_text("A human agent has been requested")
    expect(agent.get_by_role("textbox", name="Reply to the customer")).to_be_hidden()  # not before claiming

    # claim: the reply box takes the focus; Ctrl+Enter sends
    agent.get_by_role("button", name="Claim").click()
    reply_box = agent.get_by_role("textbox", name="Reply to the customer")
    expect(reply_box).to_be_focused()
    expect(agent.locator("#conversation-meta")).to_contain_text("you have it")
    expect(agent.locator("#count-mine")).to_have_text("1")
    agent.keyboard.type("Hi, I am Sam from support. Your parcel left the depot this morning.")
    agent.keyboard.press("Control+Enter")
    expect(agent.locator(".entry--agent")).to_contain_text("Sam from support")
    expect(reply_box).to_have_value("")

    # the customer's chat shows the reply at its next poll
    customer.clock.run_for("00:11")
    expect(customer.locator(".message--agent")).to_contain_text("Sam from support")
    expect(customer.locator("#conversation-state")).to_have_text("A person from our team is with you.")

    # the customer answers; the agent sees it without doing anything
    customer.get_by_role("textbox", name="Your message").fill("Great, thank you! Will it come before noon?")
    customer.keyboard.press("Enter")
    expect(agent.locator(".entry--customer").last).to_contain_text("before noon", timeout=15_000)
    agent.get_by_role("button", name="Mine").click()
    expect(agent.locator(f'[data-conversation-id="{conversation_id}"]')).to_have_attribute("aria-current", "true")
    agent.screenshot(path=screenshots / "agent-workspace.png")

    # resolve: out of the queue; the customer's chat says so
    agent.get_by_role("button", name="Resolve").click()
    expect(agent.locator("#conversation-meta")).to_contain_text("Resolved")
    expect(agent.get_by_role("textbox", name="Reply to the customer")).to_be_hidden()
    expect(agent.locator("#count-mine")).to_have_text("0")
    customer.clock.run_for("00:11")
    expect(customer.locator("#conversation-state")).to_have_text("This conversation has been resolved.")


def test_a_colleague_cannot_answer_a_taken_conversation_and_one_handed_back_goes_to_the_assistant(
    browser: Browser, contexts: Contexts, local_run: LocalRun, api: httpx.Client
) -> None:
    first, second = new_page(browser, contexts), new_page(browser, contexts)
    sign_in(first, local_run, new_agent(api, local_run))
    sign_in(second, local_run, new_agent(api, local_run))
    customer = new_page(browser, contexts)
    conversation_id = customer_asks_for_a_person(customer, api, local_run, f"visitor-{secrets.token_hex(3)}")

    for page in (first, second):  # both see it waiting, and open it
        page.locator(f'[data-conversation-id="{conversation_id}"]').click(timeout=15_000)
        expect(page.get_by_role("button", name="Claim")).to_be_visible()
    first.get_by_role("button", name="Claim").click()
    expect(first.locator("#conversation-meta")).to_contain_text("you have it")

    # the colleague's view follows (live) and a late claim is refused with the reason
    expect(second.locator("#conversation-meta")).to_contain_text("another agent has it", timeout=15_000)
    expect(second.get_by_role("textbox", name="Reply to the customer")).to_be_hidden()
    expect(second.get_by_role("button", name="Claim")).to_be_hidden()

    # hand back: the assistant answers the customer's next message
    first.get_by_role("button", name="Hand back to assistant").click()
    expect(first.locator("#conversation-meta")).to_contain_text("With the assistant")
    expect(first.locator(".entry--system").last).to_contain_text("The assistant is back")
    expect(first.locator(f'[data-conversation-id="{conversation_id}"]')).to_have_count(0)


def test_a_wrong_password_is_refused_and_nothing_else_is_shown(
    browser: Browser, contexts: Contexts, local_run: LocalRun
) -> None:
    page = new_page(browser, contexts)
    page.goto(f"{local_run.info.gateway_url}/agent")
    page.get_by_label("Workspace (tenant)").fill(str(local_run.info["tenant"]))
    page.get_by_label("Email").fill("nobody@demo.example")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The workspace, email and password do not match.")
    expect(page.locator("#desk")).to_be_hidden()
