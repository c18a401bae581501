"""Every page under a strict Content-Security-Policy (script-src 'self') with the network cut off from
everything but the site: the game, the leaderboard, the staff dashboard (its charts and a screenshot),
Swagger UI and ReDoc."""

import re
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from PIL import Image as PILImage
from playwright.sync_api import expect

from tests.ops.dashboard_rows import dashboard_rows

from .conftest import VIEWPORT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The policy engineer platform's middleware (django-csp) sends on every page: no inline script or style,
# nothing from elsewhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


@pytest.fixture
def strict_page(browser, live_server):
    """A page whose documents carry the CSP above and which reaches nothing but the live server.
    Yields the page and what it tried: outside requests, CSP violations, script errors."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(live_server.url))
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    attempts = {"outside": [], "violations": [], "errors": []}

    def route(route):
        request = route.request
        if not request.url.startswith(origin):
            attempts["outside"].append(request.url)
            route.abort()
        elif request.resource_type == "document":
            response = route.fetch()
            # A page that sends a policy of its own keeps it (as the middleware does); the others get CSP.
            route.fulfill(response=response, headers={"content-security-policy": CSP, **response.headers})
        else:
            route.continue_()

    page.route("**/*", route)
    page.on("console", lambda m: attempts["violations"].append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: attempts["errors"].append(str(error)))
    yield page, attempts
    context.close()


def _clean(attempts):
    assert attempts == {"outside": [], "violations": [], "errors": []}


def log_in_as_staff(page, live_server, django_user_model):
    from django.test import Client

    user = django_user_model.objects.create_user("boss", is_staff=True)
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])


def test_the_game_and_the_leaderboard_run_under_a_strict_csp(strict_page):
    page, attempts = strict_page
    page.goto("/")
    expect(page.locator("#consent")).to_be_visible()  # the module graph loaded and ran
    page.locator("#consent-accept").click()
    expect(page.locator("#next-round")).to_have_text("Practice round")
    page.locator("#next-round").click()
    page.wait_for_function("document.body.dataset.roundState === 'open'")
    page.goto("/leaderboard/")
    expect(page.locator("#leaderboard-empty")).to_be_visible()
    _clean(attempts)


def test_swagger_ui_shows_the_operations_offline(strict_page):
    page, attempts = strict_page
    page.goto("/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()
    paths = page.locator(".opblock-summary-path").all_text_contents()
    assert {"/api/game/rounds/", "/api/game/leaderboard/", "/api/v1/images/"} <= {
        p.replace("\u200b", "") for p in paths
    }
    _clean(attempts)


def test_redoc_shows_the_operations_offline(strict_page):
    page, attempts = strict_page
    response = page.goto("/api/redoc/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-eval" not in policy  # inline styles only, never scripts
    expect(page.get_by_role("heading", name=re.compile("ClickMe API"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Start a round"))).to_be_visible()
    # ReDoc's "API docs by Redocly" credit points its <img> at Redocly's CDN (no option turns it off):
    # the CSP blocks it, nothing else is fetched from outside, and the docs work without it.
    attempts["violations"] = [v for v in attempts["violations"] if "cdn.redoc.ly/redoc/logo-mini.svg" not in v]
    _clean(attempts)


def test_the_dashboard_draws_its_charts(strict_page, live_server, django_user_model, screenshot_dir):
    page, attempts = strict_page
    dashboard_rows(timezone.now())
    log_in_as_staff(page, live_server, django_user_model)
    page.goto("/dashboard/")
    page.wait_for_function("document.body.dataset.chartsDrawn === 'true'")
    charts = page.locator("canvas[id^='chart-']")
    expect(charts).to_have_count(7)
    # Each chart put something on its canvas (not one blank backing store).
    painted = page.evaluate(
        """() => Array.from(document.querySelectorAll("canvas[id^='chart-']"), c => {
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < data.length; i += 4) n += data[i] > 0;
            return [c.id, c.dataset.drawn, c.width > 0 && c.height > 0, n / (data.length / 4)]; })"""
    )
    for chart_id, drawn, sized, ink in painted:
        assert drawn == "true" and sized and ink > 0.01, (chart_id, ink)
    expect(page.locator("#validity td[data-key='careful_win']")).to_have_text("0.88")
    expect(page.locator("#partner")).to_have_text("demo-2026-11-24")
    _clean(attempts)

    page.set_viewport_size({"width": 1200, "height": 2000})
    path = screenshot_dir / "screenshot-dashboard.png"
    page.screenshot(path=str(path), full_page=True)
    with PILImage.open(path) as shot:
        assert shot.size[0] == 1200 and shot.size[1] >= 2000
