"""Headless Chromium (Debian's ``chromium``) driven by Playwright, and the stack it talks to.

Chromium is a system package here, not Playwright's download (the machine has no general internet). Without
it the browser tests skip on a laptop but fail under CI (``CI`` set), where ``.ci/run`` installs it: a browser
test that silently skipped in CI would be a test nobody runs.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from app.devrun.launcher import LocalRun
from tests.e2e.stack import running_stack

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
#: The network here is closed: without the background-networking flags Chromium's own connections are refused
#: and slow everything down; --no-sandbox because tests may run as root in a container.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("HELPLINE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        message = "Chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the browser tests", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[LocalRun]:
    yield from running_stack(tmp_path_factory.mktemp("browser-run"))


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh context per test: its own sessionStorage, so each test is a new visitor."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # HTTP error statuses the page handles (401, 429...) are logged by Chromium as "Failed to load resource"
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    new_page = context.new_page()
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    new_page.on("console", on_console)
    try:
        yield new_page
    finally:
        context.close()
    assert not errors, f"the page logged errors: {errors}"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
