"""The player's side of a real game in Chromium: the reveal after a lost round, skipping an image, the
consent dialog, the practice round, the partner's guesses for screen readers, a high-DPI canvas."""

import numpy as np
import pytest
from PIL import Image as PILImage
from playwright.sync_api import expect

from game.models import Image, Playability, Player, Round
from tests.conftest import synthetic_image

from .conftest import VIEWPORT
from .playing import (
    STROKES,
    accept_consent,
    canvas_pixels,
    dimmed,
    open_game,
    paint,
    painted,
    start_round,
    wait_round_state,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACTIVE = "document.activeElement"


def test_a_round_not_recognised_ends_with_the_whole_image_revealed(page, named_partner, settings, screenshot_dir):
    settings.CLICKME = {**settings.CLICKME, "TIME_LIMIT_MS": 3000}
    image = synthetic_image(named_partner[5], 5)  # never in this partner's top 5
    open_game(page)
    round_ = start_round(page)
    paint(page, [STROKES[0][:6]], (image.width, image.height))
    # Before the end the unpainted parts are dimmed ...
    corner = (image.width - 3, image.height - 3)
    [(shown, reference)] = canvas_pixels(page, image.file.url, [corner])
    assert np.abs(np.subtract(shown, dimmed(reference))).max() <= 3

    wait_round_state(page, "expired")
    round_.refresh_from_db()
    assert round_.state == Round.State.EXPIRED and round_.score == 0 and round_.n_clicks == painted(page) > 0

    # ... after it, the whole image is at full brightness, with a message that says why.
    assert page.evaluate("document.body.dataset.revealed") == "true"
    mask = np.asarray(PILImage.open(image.mask.path)) > 0
    ys, xs = np.nonzero(mask)
    in_object = (int(xs.mean()), int(ys.mean()))
    assert not any(abs(x - in_object[0]) <= 7 and abs(y - in_object[1]) <= 7 for x, y, _t in round_.clicks)
    for shown, reference in canvas_pixels(page, image.file.url, [corner, in_object, (5, 5)]):
        assert np.abs(np.subtract(shown, reference)).max() <= 2
    name = named_partner[5].name
    expect(page.locator("#result")).to_contain_text("here is the whole image")
    expect(page.locator("#result")).to_contain_text(f"Look again: the {name} is in the picture")
    expect(page.locator("#status")).to_contain_text(f"did not recognise the {name}")
    expect(page.locator("#game-canvas")).to_have_attribute(
        "aria-label", f"The whole image, revealed: the {name} is in it."
    )
    expect(page.locator("#round-score")).to_have_text("0")
    expect(page.locator("#next-round")).to_be_focused()  # the keyboard goes on from here
    page.screenshot(path=str(screenshot_dir / "screenshot-lost-round.png"))


def test_a_skipped_image_is_not_scored_is_revealed_and_never_comes_back(page, categories, ranked_partner):
    first_image = synthetic_image(categories[5], 0, completed_rounds=0)
    second_image = synthetic_image(categories[6], 1, completed_rounds=1)
    open_game(page)
    first = start_round(page)
    assert first.image_id == first_image.pk
    expect(page.locator("#skip-round")).to_be_visible()
    paint(page, [STROKES[1][:4]], (first_image.width, first_image.height))

    # By keyboard: focus the button and press Enter.
    page.locator("#skip-round").focus()
    with page.expect_response(lambda r: r.url.endswith(f"/rounds/{first.pk}/skip/")) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 200 and answer.value.json()["state"] == "skipped"
    wait_round_state(page, "skipped")
    first.refresh_from_db()
    assert first.state == Round.State.SKIPPED and first.score == 0 and first.n_clicks >= 1
    expect(page.locator("#result")).to_contain_text("Skipped")
    expect(page.locator("#status")).to_contain_text("no points, and its clicks are not used")
    assert page.evaluate("document.body.dataset.revealed") == "true"
    expect(page.locator("#skip-round")).to_be_hidden()
    expect(page.locator("#round-score")).to_have_text("0")
    expect(page.locator("#rounds-played")).to_have_text("0")  # a skip is not a round played
    expect(page.locator("#total-score")).to_have_text("0")

    second = start_round(page)
    assert second.image_id == second_image.pk  # the skipped one never comes back
    assert page.evaluate("document.body.dataset.revealed") is None
    expect(page.locator("#skip-round")).to_be_visible()


def test_a_skip_that_comes_too_late_says_how_the_round_ended(page, categories, ranked_partner):
    """The server's clock ran out first (409 round_closed): the page asks how the round ended and shows it."""
    image = synthetic_image(categories[5], 0)
    open_game(page)
    round_ = start_round(page)
    closed = {"detail": "round_closed: the round is not open", "code": "round_closed"}
    page.route("**/skip/", lambda route: route.fulfill(status=409, json=closed))
    with page.expect_response(lambda r: r.url.endswith(f"/rounds/{round_.pk}/finish/")):
        page.locator("#skip-round").click()
    wait_round_state(page, "expired")
    round_.refresh_from_db()
    assert round_.state == Round.State.EXPIRED  # closed by the finish the page sent
    assert page.evaluate("document.body.dataset.revealed") == "true"
    expect(page.locator("#status")).to_contain_text(f"did not recognise the {image.category.name}")
    expect(page.locator("#next-round")).to_be_enabled()


def test_the_consent_dialog_keeps_the_focus_and_escape_means_not_now(page, db):
    patches = []
    page.on("request", lambda r: patches.append(r.post_data) if r.method == "PATCH" else None)
    page.goto("/")
    dialog = page.locator("#consent")
    expect(dialog).to_be_visible()
    assert page.evaluate("document.getElementById('consent').matches('dialog:modal')")
    assert page.evaluate(f"{ACTIVE}.id") == "consent-accept"
    inside = f"document.getElementById('consent').contains({ACTIVE})"
    seen = set()
    for key in ["Tab"] * 5 + ["Shift+Tab"] * 5:
        page.keyboard.press(key)
        assert page.evaluate(inside), f"{key} left the dialog for {page.evaluate(f'{ACTIVE}.outerHTML')[:80]}"
        seen.add(page.evaluate(f"{ACTIVE}.id"))
    assert seen == {"consent-accept", "consent-decline"}
    # The page behind is inert: a click on the nickname field lands on the dialog's backdrop.
    box = page.locator("#nickname-input").bounding_box()
    hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).id", [box["x"] + 5, box["y"] + 5])
    assert hit == "consent"

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("once you agree")
    assert not any("consented" in (data or "") for data in patches)
    assert Player.objects.filter(consented_at__isnull=False).count() == 0
    expect(page.locator("#next-round")).to_be_focused()

    page.keyboard.press("Enter")  # Start round asks again
    expect(dialog).to_be_visible()
    page.keyboard.press("Enter")  # "I agree", focused
    expect(dialog).to_be_hidden()
    assert Player.objects.get().consented_at is not None
    expect(page.locator("#next-round")).to_be_focused()


VISIBLE_H1 = "Array.from(document.querySelectorAll('h1')).filter(h => h.checkVisibility()).map(h => h.id)"


def test_agreeing_by_keyboard_on_a_first_visit_leaves_the_focus_on_the_next_control_under_one_h1(
    page, db, screenshot_dir
):
    page.goto("/")
    expect(page.locator("#consent")).to_be_visible()
    assert page.evaluate(f"{ACTIVE}.id") == "consent-accept"
    page.keyboard.press("Enter")
    expect(page.locator("#consent")).to_be_hidden()
    expect(page.locator("#next-round")).to_have_text("Practice round")
    expect(page.locator("#next-round")).to_be_focused()  # not <body>: the keyboard goes on from here
    assert page.evaluate(VISIBLE_H1) == ["prompt"]
    page.screenshot(path=str(screenshot_dir / "game-after-consent.png"))

    page.keyboard.press("Enter")  # the practice round starts: the focus moves to its heading
    wait_round_state(page, "open")
    expect(page.locator("#prompt")).to_be_focused()
    expect(page.locator("#prompt")).to_contain_text("star")


def test_starting_a_round_by_keyboard_moves_the_focus_to_the_rounds_heading(page, categories, ranked_partner):
    image = synthetic_image(categories[5], 0)
    open_game(page)
    page.locator("#next-round").focus()
    page.keyboard.press("Enter")
    wait_round_state(page, "open")
    expect(page.locator("#next-round")).to_be_disabled()
    expect(page.locator("#prompt")).to_be_focused()  # the heading names what to paint
    expect(page.locator("#prompt")).to_contain_text(image.category.name)
    assert page.evaluate(VISIBLE_H1) == ["prompt"]


def test_a_first_visit_practice_round_teaches_the_brush_and_never_reaches_the_server(page, db, settings):
    settings.CLICKME = {**settings.CLICKME, "TIME_LIMIT_MS": 5000}
    game_requests = []
    accept_consent(page)
    page.on("request", lambda r: game_requests.append(r.url) if "/api/game/rounds/" in r.url else None)
    expect(page.locator("#next-round")).to_have_text("Practice round")
    expect(page.locator("#skip-practice")).to_be_visible()
    expect(page.locator("#canvas-message")).to_contain_text("5 seconds")

    page.locator("#next-round").click()
    wait_round_state(page, "open")
    assert page.evaluate("document.body.dataset.roundMode") == "practice"
    expect(page.locator("#category-name")).to_have_text("star")
    expect(page.locator("#guesses-hint")).to_contain_text("a simple rule stands in for the network")
    expect(page.locator("#skip-round")).to_be_hidden()
    expect(page.locator("#skip-practice")).to_be_hidden()
    cx, cy = (int(v) for v in page.evaluate("document.body.dataset.practiceTarget").split(","))
    strokes = [[(x, y) for x in range(cx - 21, cx + 22, 7)] for y in (cy - 12, cy, cy + 12)]
    paint(page, strokes, (256, 256))
    wait_round_state(page, "won")
    expect(page.locator("#result")).to_contain_text("Found it!")
    expect(page.locator("#guesses li.is-correct .guess-name")).to_have_text("star")
    expect(page.locator("#round-score")).to_have_text("0")
    expect(page.locator("#next-round")).to_have_text("Start round")

    # Not one practice click went to the server: no round was started or posted to, nothing stored.
    assert game_requests == []
    assert Round.objects.count() == 0
    assert page.evaluate("localStorage.getItem('clickme.practice.v1')") is not None
    page.reload()
    expect(page.locator("#next-round")).to_have_text("Start round")
    expect(page.locator("#skip-practice")).to_be_hidden()
    expect(page.locator("#guesses-hint")).to_contain_text("A network sees only what you paint")


def test_the_partners_guesses_are_announced_once_per_change_in_a_live_region(page, categories, ranked_partner):
    image = synthetic_image(categories[6], 0)
    open_game(page)
    live = page.locator("#guesses-live")
    expect(live).to_have_attribute("aria-live", "polite")
    page.evaluate(
        """() => { window.announcements = [];
          new MutationObserver(() => window.announcements.push(document.getElementById('guesses-live').textContent))
            .observe(document.getElementById('guesses-live'), {childList: true, characterData: true, subtree: true}); }"""
    )
    start_round(page)
    posts = []
    page.on("response", lambda r: posts.append(r.status) if r.url.endswith("/clicks/") else None)
    paint(page, STROKES[:2], (image.width, image.height))
    page.wait_for_function("document.getElementById('partner-thinking').hidden")
    expect(live).to_have_text("Partner guesses: category 0, category 1, category 2.")
    assert len(posts) >= 2, "the test needs several answers to show they are not repeated"
    assert [text for text in page.evaluate("window.announcements") if text] == [
        "Partner guesses: category 0, category 1, category 2."
    ]


@pytest.fixture
def hidpi_page(browser, live_server):
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=2, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


SIZES_JS = """() => { const c = document.getElementById('game-canvas');
  return [c.width, c.height, c.getBoundingClientRect().width, c.getBoundingClientRect().height, devicePixelRatio]; }"""


def test_the_canvas_backing_store_follows_the_device_pixel_ratio(hidpi_page, categories, ranked_partner):
    page = hidpi_page
    image = synthetic_image(categories[6], 0)
    open_game(page)
    width, height, css_width, css_height, dpr = page.evaluate(SIZES_JS)
    assert dpr == 2 and css_width > 300
    assert (width, height) == (round(2 * css_width), round(2 * css_height))

    start_round(page)
    paint(page, [STROKES[1][:5]], (image.width, image.height))
    page.wait_for_selector("#guesses li.guess")  # the partner answered the post: the clicks are stored
    width, height, css_width, css_height, _dpr = page.evaluate(SIZES_JS)
    assert (width, height) == (round(2 * css_width), round(2 * css_height))
    round_ = Round.objects.get(pk=int(page.evaluate("document.body.dataset.roundId")))
    round_.refresh_from_db()
    x, y, _t = round_.clicks[len(round_.clicks) // 2]
    [(shown, reference)] = canvas_pixels(page, image.file.url, [(x, y)])
    assert np.abs(np.subtract(shown, reference)).max() <= 2

    # A narrower window: the backing store follows, and the painted bubbles are redrawn.
    page.set_viewport_size({"width": 420, "height": 800})
    page.wait_for_function(
        "() => { const c = document.getElementById('game-canvas');"
        " return c.width === Math.round(2 * c.getBoundingClientRect().width); }"
    )
    width, _height, css_width, _css_height, _dpr = page.evaluate(SIZES_JS)
    assert css_width < 420 and width == round(2 * css_width)
    [(shown, reference)] = canvas_pixels(page, image.file.url, [(x, y)])
    assert np.abs(np.subtract(shown, reference)).max() <= 2


def test_a_click_post_whose_answer_is_lost_is_sent_again_and_stored_once(page, named_partner, settings):
    """The server stores a post but its answer never reaches the page (the network drops it): the page
    sends the batch again, and the round holds each click once."""
    settings.CLICKME = {**settings.CLICKME, "TIME_LIMIT_MS": 4000}
    image = synthetic_image(named_partner[5], 5)  # never in this partner's top 5: the round runs out
    handled = []

    def lose_first_answer(route):
        if handled:
            route.continue_()
            return
        handled.append(route.fetch().status)  # the server handles the post ...
        route.abort("failed")  # ... and its answer is lost

    page.route("**/api/game/rounds/*/clicks/", lose_first_answer)
    open_game(page)
    round_ = start_round(page)
    # A tap: one click, posted alone. Its re-send is in time and in order after the stored copy of
    # itself (same t_ms), so only the post's n_stored tells the server it is a repeat.
    paint(page, [STROKES[0][:1]], (image.width, image.height))
    paint(page, [STROKES[1][:4]], (image.width, image.height))
    wait_round_state(page, "expired")
    round_.refresh_from_db()
    assert handled == [200]
    assert round_.n_clicks == len(round_.clicks) == painted(page) > 0
    assert len({tuple(click) for click in round_.clicks}) == len(round_.clicks)  # no click twice


def test_images_still_being_screened_say_so_and_the_player_can_try_again(page, categories, ranked_partner):
    """Not "you have seen every image": the partner's screening has not passed any image yet."""
    image = synthetic_image(categories[0], 0, playability=Playability.UNSCREENED)
    open_game(page)
    page.locator("#next-round").click()
    expect(page.locator("#status")).to_contain_text("New images are being prepared")
    expect(page.locator("#next-round")).to_have_text("Try again")
    expect(page.locator("#next-round")).to_be_enabled()
    Image.objects.filter(pk=image.pk).update(playability=Playability.PLAYABLE)  # the worker's screening passed it
    round_ = start_round(page)
    assert round_.image_id == image.pk
