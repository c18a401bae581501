"""The game and leaderboard pages in real headless Chromium, against the live server and the real partner.

The `ranked_partner` always answers categories 0-4 (in that order), so an image of category 0-4 is
recognised on the first post of clicks and an image of category 5 or 6 never is. Which image a round
gets is steered through `Image.completed_rounds` (fewest first).
"""

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image as PILImage
from playwright.sync_api import expect

from game.models import Player, Round
from tests.conftest import synthetic_image
from tests.factories import PlayerFactory, RoundFactory

from .playing import (
    STROKES,
    canvas_pixels,
    dimmed,
    guesses_shown,
    open_game,
    paint,
    painted,
    start_round,
    wait_round_state,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARKUP = "<img src=x onerror=alert(1)>"  # fits the 32 characters of a nickname


def leaderboard_rows(page):
    return page.locator("#leaderboard-table tbody tr").evaluate_all(
        "rows => rows.map(tr => [tr.dataset.rank, tr.cells[0].textContent, tr.querySelector('.nick-name').textContent,"
        " tr.cells[2].textContent, tr.cells[3].textContent])"
    )


def show_leaderboard_tab(page, tab):
    page.locator(f"#tab-{tab}").click()
    page.wait_for_function("p => document.body.dataset.period === p && !('loading' in document.body.dataset)", arg=tab)


def set_nickname(page, nickname):
    """Save a nickname as the player does; returns the message shown and the server's answer."""
    page.locator("#nickname-input").fill(nickname)
    with page.expect_response(lambda r: r.url.endswith("/api/game/me/") and r.request.method == "PATCH") as answer:
        page.locator("#nickname-save").click()
    page.wait_for_function("document.getElementById('nickname-message').dataset.kind")
    return page.locator("#nickname-message"), answer.value


# ---------------------------------------------------------------------------------------------
# Tests


def test_a_player_paints_loses_one_round_wins_the_next_and_reaches_the_leaderboard(
    page, categories, ranked_partner, settings
):
    settings.CLICKME = {**settings.CLICKME, "TIME_LIMIT_MS": 4000}
    unrecognised = synthetic_image(categories[5], 0, completed_rounds=0)
    recognised = synthetic_image(categories[2], 1, completed_rounds=3)

    open_game(page)
    message, _answer = set_nickname(page, "Browser Bob")
    expect(message).to_have_attribute("data-kind", "success")
    assert Player.objects.get().nickname == "Browser Bob"

    # Round 1: the image the partner never recognises (fewest completed rounds).
    first = start_round(page)
    assert first.image_id == unrecognised.pk
    expect(page.locator("#category-name")).to_have_text("category 5")
    expect(page.locator("#guesses li")).to_have_count(0)
    paint(page, STROKES, (unrecognised.width, unrecognised.height))
    assert page.evaluate("document.body.dataset.roundState") == "open", "painting took longer than the round"
    expect(page.locator("#guesses li")).to_have_count(5)
    assert [g[1] for g in guesses_shown(page)] == ["false"] * 5

    # Nobody recognises it: the clock runs out, everything painted was posted before the finish.
    wait_round_state(page, "expired", timeout=8_000)
    first.refresh_from_db()
    assert first.state == Round.State.EXPIRED and first.score == 0
    assert painted(page) >= 15
    assert first.n_clicks == len(first.clicks) == painted(page)
    xs = [x for x, _y, _t in first.clicks]
    ys = [y for _x, y, _t in first.clicks]
    ts = [t for _x, _y, t in first.clicks]
    assert all(isinstance(v, int) for click in first.clicks for v in click)
    assert 0 <= min(xs) and max(xs) < unrecognised.width and 0 <= min(ys) and max(ys) < unrecognised.height
    # The bubbles are where the mouse went (canvas pixels map to image pixels), on all three strokes.
    assert 50 - 2 <= min(xs) and max(xs) <= 210 + 2
    assert all(any(abs(y - stroke_y) <= 2 for y in ys) for stroke_y in (70, 128, 186))
    assert all(min(abs(y - stroke_y) for stroke_y in (70, 128, 186)) <= 2 for y in ys)
    assert ts == sorted(ts) and 0 <= ts[0] and ts[-1] <= first.time_limit_ms
    expect(page.locator("#round-score")).to_have_text("0")
    expect(page.locator("#result")).to_contain_text("Time's up")

    # Round 2: the recognised image; the first post wins it.
    expect(page.locator("#next-round")).to_be_enabled()
    second = start_round(page)
    assert second.image_id == recognised.pk
    expect(page.locator("#category-name")).to_have_text("category 2")
    paint(page, STROKES[:1], (recognised.width, recognised.height))
    wait_round_state(page, "won")
    second.refresh_from_db()
    assert second.state == Round.State.WON and 0 < second.score <= 100
    assert second.n_clicks >= 1 and second.recognized_at_ms is not None
    expect(page.locator("#round-score")).to_have_text(str(second.score))
    assert page.evaluate("document.body.dataset.roundScore") == str(second.score)
    expect(page.locator("#total-score")).to_have_text(str(second.score))
    expect(page.locator("#rounds-played")).to_have_text("2")
    expect(page.locator("#rounds-won")).to_have_text("1")
    correct = [g for g in guesses_shown(page) if g[1] == "true"]
    assert correct == [[str(categories[2].pk), "true", "3", "category 2"]]
    expect(page.locator("#result")).to_contain_text(f"Recognised! +{second.score}")

    # The leaderboard: today and all time list Browser Bob with the server's score, his own row marked.
    other = PlayerFactory(nickname="Other Olga")
    RoundFactory(player=other, image__active=False, state=Round.State.WON, score=1, finished_at=timezone.now())
    page.locator("#leaderboard-link").click()
    page.wait_for_url("**/leaderboard/**")
    expect(page.locator("#leaderboard-table tbody tr")).to_have_count(2)
    expected = [["1", "1", "Browser Bob", str(second.score), "1"], ["2", "2", "Other Olga", "1", "1"]]
    assert leaderboard_rows(page) == expected
    expect(page.locator("#leaderboard-table tr.is-me .nick-name")).to_have_text("Browser Bob")
    expect(page.locator("#leaderboard-table tr.is-me .you-tag")).to_have_text("you")
    expect(page.locator("#leaderboard-table tr[data-me]")).to_have_count(1)
    show_leaderboard_tab(page, "all")
    assert leaderboard_rows(page) == expected
    expect(page.locator("#leaderboard-table tr.is-me .nick-name")).to_have_text("Browser Bob")
    assert "period=all" in page.url


def test_the_partners_guesses_appear_only_once_painted_clicks_are_posted(page, categories, ranked_partner):
    image = synthetic_image(categories[6], 2)
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.url.endswith("/clicks/") else None)

    open_game(page)
    round_ = start_round(page)
    assert round_.image_id == image.pk
    # Longer than the page's post interval (500 ms) by the round's own clock: nothing painted, nothing posted.
    page.wait_for_function(
        "limit => Number(document.getElementById('time-bar').dataset.remainingMs) <= limit - 700",
        arg=round_.time_limit_ms,
    )
    expect(page.locator("#guesses li")).to_have_count(0)
    expect(page.locator("#guesses-empty")).to_be_visible()
    assert posts == [] and Round.objects.get(pk=round_.pk).n_clicks == 0

    paint(page, [STROKES[1][:4]], (image.width, image.height))
    expect(page.locator("#guesses li")).to_have_count(5)
    expect(page.locator("#guesses-empty")).to_be_hidden()
    assert page.evaluate("document.body.dataset.roundState") == "open"  # live, while the round goes on
    assert posts, "the guesses came without a post of clicks"
    shown = guesses_shown(page)
    assert shown == [[str(categories[k].pk), "false", str(k + 1), f"category {k}"] for k in range(5)]
    round_.refresh_from_db()
    assert round_.state == Round.State.OPEN and round_.n_clicks >= 1
    assert [g["category_id"] for g in round_.last_guesses] == [categories[k].pk for k in range(5)]


def test_a_round_left_alone_expires_in_the_page_and_in_the_database(page, categories, ranked_partner, settings):
    settings.CLICKME = {**settings.CLICKME, "TIME_LIMIT_MS": 1500}
    synthetic_image(categories[5], 3)
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)

    open_game(page)
    round_ = start_round(page)
    assert round_.time_limit_ms == 1500
    wait_round_state(page, "expired", timeout=6_000)

    round_.refresh_from_db()
    assert round_.state == Round.State.EXPIRED and round_.score == 0 and round_.n_clicks == 0
    assert round_.finished_at is not None
    assert (round_.finished_at - round_.started_at).total_seconds() >= 1.4
    assert not any(url.endswith("/clicks/") for url in posts)
    assert any(url.endswith(f"/rounds/{round_.pk}/finish/") for url in posts)
    expect(page.locator("#time-bar")).to_have_attribute("data-remaining-ms", "0")
    expect(page.locator("#round-score")).to_have_text("0")
    expect(page.locator("#result")).to_contain_text("Time's up")
    expect(page.locator("#rounds-played")).to_have_text("1")
    expect(page.locator("#next-round")).to_be_enabled()


def test_markup_in_nicknames_is_refused_and_never_runs(page):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_game(page)
    player = Player.objects.get()

    for nickname in ("Bob & Alice", MARKUP, "the admin", "   "):
        message, answer = set_nickname(page, nickname)
        assert answer.status == 400
        detail = answer.json()["detail"]  # the rule that failed, in the server's words
        assert detail.startswith("nickname: ") and len(detail) > len("nickname: ")
        expect(message).to_have_attribute("data-kind", "error")
        expect(message).to_have_text(detail)
        expect(page.locator("#status")).to_have_text(detail)
        expect(page.locator("#nickname-input")).to_have_attribute("aria-invalid", "true")
        player.refresh_from_db()
        assert player.nickname == ""
    assert page.locator("#nickname-message *, #status *").count() == 0

    message, _answer = set_nickname(page, "Bob-Alice_2.0")
    expect(message).to_have_attribute("data-kind", "success")
    expect(message).to_contain_text("Bob-Alice_2.0")
    player.refresh_from_db()
    assert player.nickname == "Bob-Alice_2.0"

    # A nickname stored before the rules existed (or by an admin) is shown as text, never as markup.
    legacy = PlayerFactory(nickname=MARKUP)
    RoundFactory(player=legacy, image__active=False, state=Round.State.WON, score=40, finished_at=timezone.now())
    page.goto("/leaderboard/")
    expect(page.locator("#leaderboard-table tbody tr")).to_have_count(1)
    expect(page.locator("#leaderboard-table tbody td.nick .nick-name")).to_have_text(MARKUP)
    assert page.locator("#leaderboard-table img, #leaderboard-table script").count() == 0
    page.wait_for_load_state("networkidle")  # nothing left to load that could run it
    assert dialogs == []


def test_screenshots_of_a_round_in_play_and_of_the_leaderboard(page, named_partner, screenshot_dir):
    image = synthetic_image(named_partner[5], 5)  # "yellow bars": never in this partner's top 5
    for nickname, score, won in [
        ("Pixel Pat", 312, 4),
        ("night.owl", 268, 3),
        ("Quokka_42", 187, 3),
        ("mariposa", 95, 1),
        ("Browser Bob", 71, 1),
    ]:
        player = PlayerFactory(nickname=nickname)
        for k in range(won):
            RoundFactory(
                player=player,
                image__active=False,
                state=Round.State.WON,
                score=score // won + (score % won if k == 0 else 0),
                finished_at=timezone.now(),
            )

    open_game(page)
    start_round(page)
    # Paint back and forth over the diagnostic part (the image's ground-truth mask), as a player would.
    mask_ys, mask_xs = np.nonzero(np.asarray(PILImage.open(image.mask.path)))
    left, right = max(int(mask_xs.min()) - 10, 0), min(int(mask_xs.max()) + 10, image.width - 1)
    top, bottom = max(int(mask_ys.min()) - 10, 0), min(int(mask_ys.max()) + 10, image.height - 1)
    rows = [[(x, y) for x in range(left, right + 1, 9)] for y in range(top, bottom + 1, 11)]
    strokes = [row if k % 2 == 0 else row[::-1] for k, row in enumerate(rows)]
    paint(page, strokes, (image.width, image.height))
    expect(page.locator("#guesses li")).to_have_count(5)
    page.wait_for_function("document.getElementById('partner-thinking').hidden")
    assert page.evaluate("document.body.dataset.roundState") == "open"

    # What is painted is revealed at full brightness; the rest stays dimmed.
    round_ = Round.objects.get(image=image)
    round_.refresh_from_db()
    original = np.asarray(PILImage.open(image.file.path).convert("RGB"), dtype=float)
    x, y = max(((x, y) for x, y, _t in round_.clicks), key=lambda p: original[p[1], p[0]].sum())
    (revealed, reference), (dim_shown, dim_reference) = canvas_pixels(page, image.file.url, [(x, y), (2, 2)])
    assert np.abs(np.subtract(revealed, reference)).max() <= 2
    assert np.abs(np.subtract(dimmed(reference), reference)).max() > 30  # so the check above tells them apart
    assert np.abs(np.subtract(dim_shown, dimmed(dim_reference))).max() <= 3

    game_png = screenshot_dir / "screenshot-game.png"
    page.screenshot(path=str(game_png))
    page.goto("/leaderboard/")
    expect(page.locator("#leaderboard-table tbody tr")).to_have_count(5)
    assert [row[2] for row in leaderboard_rows(page)] == [
        "Pixel Pat",
        "night.owl",
        "Quokka_42",
        "mariposa",
        "Browser Bob",
    ]
    board_png = screenshot_dir / "screenshot-leaderboard.png"
    page.screenshot(path=str(board_png))
    for path in (game_png, board_png):
        with PILImage.open(path) as shot:
            assert shot.size == (1200, 800)
