"""Fixtures for the browser tests: Debian's Chromium driven by Playwright against pytest-django's live server."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1200, "height": 800}


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module; each test gets its own context (cookies, localStorage)."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps its asyncio loop "running" in this thread while it is started,
    # so Django's ORM would refuse every call from the tests ("You cannot call this from an async
    # context"). No coroutine ever runs Django code here: each Playwright call blocks until it is
    # done. The override is confined to this module's lifetime and undone afterwards.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh page at 1200x800 whose base URL is the live server; uncaught script errors fail the test."""
    # bypass_csp: Playwright evaluates wait_for_function's string with eval, which the site's
    # Content-Security-Policy (script-src 'self') forbids; the policy itself is checked in tests/ops.
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url, bypass_csp=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


@pytest.fixture
def screenshot_dir(tmp_path):
    """docs/ when CLICKME_SCREENSHOTS=1 (the README's pictures), else this test's temporary folder."""
    if os.environ.get("CLICKME_SCREENSHOTS") == "1":
        return Path(__file__).resolve().parents[2] / "docs"
    return tmp_path


@pytest.fixture
def named_partner(db, tmp_path):
    """Like `ranked_partner`, with the synthetic benchmark's category names (for the README's pictures)."""
    from game.models import Category
    from game.synthetic_benchmark import CATEGORIES
    from tests.conftest import constant_partner

    categories = [Category.objects.create(name=entry[0], wnid=entry[1]) for entry in CATEGORIES]
    scores = [3.0, 2.6, 2.1, 1.7, 1.4] + [0.5 - 0.001 * k for k in range(len(categories) - 5)]
    constant_partner("named", categories, scores, tmp_path)  # categories 5 and on are never in its top 5
    return categories
