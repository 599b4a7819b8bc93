"""Browser tests: the app served on loopback, driven by Playwright in Debian's headless Chromium."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ARTIFACTS = Path(os.environ.get("ENLIST_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str:
    """Debian's Chromium (Playwright cannot download browsers here)."""
    path = os.environ.get("ENLIST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is not installed: run the README's test command (it installs Debian's chromium).")
    return path


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture()
def live_server(app):
    """The test app served by a threaded WSGI server on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture()
def page(browser, live_server):
    """A fresh browser page; dialogs are recorded (an XSS would open one) and dismissed."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture()
def signed_in_page(page, make_operator):
    """A page signed in as a technician."""
    from tests.conftest import TEST_PASSWORD

    make_operator("admin@msp.example", role="admin")
    make_operator("tech@msp.example")
    page.goto("/sign-in")
    page.fill("input[name=email]", "tech@msp.example")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/deployments/")
    return page


def screenshot(page, name: str) -> Path:
    """Save a screenshot under the test artifacts folder."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
