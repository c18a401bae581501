"""The validity report's pure core (game/validity.py) and the win rule (game/win_rule.py)."""

import numpy as np
import pytest

from game.reveal import noise_background
from game.validity import (
    GameRules,
    RoundImage,
    brush_clicks,
    careful_clicks,
    careless_clicks,
    diagnostic_region,
    post_points,
    step_towards,
    validity_report,
)
from game.win_rule import chance_rate, is_win, win_top_k

RULES = GameRules()


def test_the_win_rule_takes_top_5_of_many_categories_top_1_of_few_and_the_setting_first():
    assert win_top_k(1000) == 5 and win_top_k(100) == 5
    assert win_top_k(99) == 1 and win_top_k(10) == 1
    assert win_top_k(10, setting=3) == 3 and win_top_k(1000, setting=1) == 1
    assert chance_rate(1000, 5) == pytest.approx(0.005) and chance_rate(50, 1) == pytest.approx(0.02)
    assert is_win([4, 2, 9], {9}, 3) and not is_win([4, 2, 9], {9}, 2)


def test_the_brush_steps_at_most_7_px_every_50_ms_and_stops_at_the_time_limit():
    assert step_towards(0, 0, 3, 4, 7) == (3, 4)
    x, y = step_towards(0, 0, 100, 37, 7)
    assert np.hypot(x, y) <= 7 and x > 5
    clicks = careful_clicks(diagnostic_region((256, 256)), np.random.default_rng(0), RULES)
    steps = np.hypot(*np.diff(clicks[:, :2], axis=0).T)
    assert np.all(np.diff(clicks[:, 2]) == 50)
    assert clicks[-1, 2] <= 7000 and len(clicks) == (7000 - 400) // 50 + 1
    assert np.mean(steps <= 7) > 0.85  # only the lifted strays jump
    anywhere = careless_clicks((256, 256), np.random.default_rng(1), RULES, 30)
    assert len(anywhere) == 30 and np.all(np.hypot(*np.diff(anywhere[:, :2], axis=0).T) <= 7)
    assert post_points(30, 10) == [10, 20, 30] and post_points(25, 10) == [10, 20, 25] and post_points(0, 10) == []
    short = brush_clicks(np.array([[10.0, 10.0], [200.0, 10.0]]), np.zeros(2, bool), 500, RULES, 256, 256, 6900)
    assert short[:, 2].tolist() == [6900, 6950, 7000]


def test_a_careful_player_paints_mostly_inside_the_mask_and_the_centre_region_without_one():
    mask = np.zeros((256, 256), bool)
    mask[20:60, 180:230] = True
    clicks = careful_clicks(diagnostic_region(mask.shape, mask), np.random.default_rng(2), RULES)
    grown = np.zeros_like(mask)
    grown[10:70, 170:240] = True
    assert grown[clicks[:, 1], clicks[:, 0]].mean() > 0.8
    centre = diagnostic_region((256, 256))
    assert centre[128, 128] and not centre[5, 5] and 0.15 < centre.mean() < 0.25


def _images(n_categories, per_category, size=256):
    """Plain grey images, a different level per category (what only a whole-image reader tells apart)."""
    items = []
    for category in range(n_categories):
        level = 0.35 + 0.6 * category / max(n_categories - 1, 1)
        for index in range(per_category):
            image = np.full((size, size, 3), level, np.float32)
            items.append(RoundImage(image=image, targets=(category,), name=f"c{category}-{index}"))
    return items, n_categories


def test_a_partner_that_ignores_its_input_wins_every_kind_of_round_at_chance():
    images, n = _images(10, 4)

    def ignores(views):
        return np.tile(np.linspace(1.0, 0.0, n), (len(views), 1))  # always guesses category 0

    report = validity_report(ignores, images, n_outputs=n, seed=3)
    assert report.top_k == 1 and report.chance == pytest.approx(0.1)
    for rate in (report.zero_click, report.careless, report.careful):
        low, high = rate.ci95
        assert low <= report.chance <= high
        assert rate.rate == pytest.approx(0.1)


def test_a_partner_that_reads_the_whole_image_through_the_noise_wins_with_zero_clicks():
    images, n = _images(5, 8)
    # the mean of the darkened-noise view of each category's level, as the reader expects it
    expected = np.array(
        [noise_background(item.image[:224, :224], 99, 0.4).mean() for item in images[:: len(images) // n]]
    )

    def reads_whole_image(views):
        means = views.reshape(len(views), -1).mean(axis=1)
        return -np.abs(means[:, None] - expected[None, :])

    report = validity_report(reads_whole_image, images, n_outputs=n, seed=4)
    assert report.zero_click.rate == 1.0 and report.zero_click.wins == len(images)
    stored = report.as_dict()
    assert stored["zero_click_win"] == 1.0 and stored["zero_click_wins"] == stored["n_rounds"] == len(images)
    assert stored["zero_click_win_ci95"][1] == 1.0 and 0.9 < stored["zero_click_win_ci95"][0] < 1.0


def test_a_partner_that_needs_the_diagnostic_part_is_won_by_the_careful_player_not_by_zero_clicks():
    rng = np.random.default_rng(5)
    n, colours = 8, rng.uniform(0.2, 0.9, (8, 3)).astype(np.float32)
    images = []
    for index in range(32):
        category = index % n
        image = rng.uniform(0, 1, (256, 256, 3)).astype(np.float32)
        mask = np.zeros((256, 256), bool)
        top, left = rng.integers(40, 170, 2)
        mask[top : top + 40, left : left + 40] = True
        image[mask] = colours[category]
        images.append(RoundImage(image=image, targets=(category,), mask=mask))

    def needs_the_part(views):
        counts = np.stack([np.all(np.abs(views - c) < 1e-6, axis=-1).sum(axis=(1, 2)) for c in colours], axis=1)
        scores = counts.astype(float)
        scores[counts.max(axis=1) < 400, 0] += 1e6  # sees too little: always guesses category 0
        return scores

    report = validity_report(needs_the_part, images, n_outputs=n, seed=6)
    assert report.zero_click.rate == pytest.approx(1 / 8)
    assert report.careful.rate > 0.9
    assert report.careless.rate < report.careful.rate / 2
    assert 10 <= report.careful_median_clicks <= 60 and 400 < report.careful_median_ms < 3500


@pytest.mark.django_db
@pytest.mark.parametrize(("top_k", "won"), [(0, False), (1, False), (2, True), (5, True)])
def test_a_click_post_wins_only_when_the_category_is_in_the_win_rules_top_k(
    player_client, categories, ranked_partner, settings, top_k, won
):
    from tests.conftest import synthetic_image

    settings.CLICKME = {**settings.CLICKME, "WIN_TOP_K": top_k}  # 0: the default, top 1 of 7 categories
    synthetic_image(categories[1], 0)  # the partner ranks category 1 second
    body = player_client.start()
    answer = player_client.clicks(body["round_id"], [[10, 10, 100]]).json()
    assert answer["recognized"] is won and answer["state"] == ("won" if won else "open")
    assert [g["name"] for g in answer["guesses"]] == [f"category {k}" for k in range(5)]
