"""The quality rule (game/round_quality.py) on simulated players and on scripted bots, with arrays."""

import numpy as np
import pytest

from game import round_quality as rq
from game.simulated_players import trajectory
from game.synthetic_benchmark import scene


def benchmark_masks():
    masks = [scene(np.random.default_rng(k), k % 10)[1] for k in range(12)]
    for side in (4, 10, 35):  # tiny objects too: short careful paths crowd into them
        mask = np.zeros((256, 256), dtype=bool)
        mask[100 : 100 + side, 120 : 120 + side] = True
        masks.append(mask)
    return masks


@pytest.mark.parametrize("careless", [False, True])
def test_simulated_players_get_no_flag_and_no_replayed_path(careless):
    """20 players each play every image; each round is compared as the service compares it: with
    the rounds of the same image and of the same player."""
    masks = benchmark_masks()
    by_image = {k: {} for k in range(len(masks))}
    flags, round_id = [], 0
    for player in range(20):
        rng = np.random.default_rng(1000 + player)
        mine = {}
        for image, mask in enumerate(masks):
            n_clicks = int(rng.choice([10, 12, 15, 20, 40, 80, 140]))
            clicks = trajectory(mask, rng, careless=careless, n_clicks=n_clicks).tolist()
            fingerprint = rq.path_fingerprint(clicks)
            flags += rq.click_flags(clicks)
            flags += [rq.DUPLICATE_PATH] * bool(rq.matching_paths(fingerprint, {**by_image[image], **mine}))
            by_image[image][round_id] = mine[round_id] = fingerprint
            round_id += 1
    assert round_id == 20 * len(masks)
    assert flags == []


def brush_path(n, rng, start=(100, 100), t_step=50):
    """A brush-like stroke: steps of at most 5 px, one bubble every `t_step` ms."""
    steps = rng.integers(-3, 4, size=(n, 2))
    xy = np.clip(np.array(start) + np.cumsum(steps, axis=0), 0, 255)
    return [[int(x), int(y), k * t_step] for k, (x, y) in enumerate(xy)]


def test_a_brush_like_stroke_at_the_brush_pace_is_clean():
    clicks = brush_path(60, np.random.default_rng(0))
    assert rq.click_flags(clicks) == []


def test_clicks_faster_than_the_brush_are_too_fast():
    clicks = [[x, y, 0] for x, y, _t in brush_path(20, np.random.default_rng(1))]
    assert rq.TOO_FAST in rq.click_flags(clicks)
    every_10_ms = [[x, y, 10 * k] for k, (x, y, _t) in enumerate(brush_path(20, np.random.default_rng(1)))]
    assert rq.click_flags(every_10_ms) == [rq.TOO_FAST, rq.REGULAR_TIMING]


def test_teleporting_clicks_are_flagged():
    rng = np.random.default_rng(2)
    clicks = [[int(rng.integers(0, 256)), int(rng.integers(0, 256)), 50 * k] for k in range(30)]
    assert rq.click_flags(clicks) == [rq.TELEPORT]


def test_a_few_fast_strokes_are_not_teleports():
    clicks = brush_path(40, np.random.default_rng(3))
    for k in (10, 20, 30):  # three new strokes far away, each started 50 ms after the last bubble
        clicks[k][0] = (clicks[k][0] + 80) % 256
    assert rq.click_flags(clicks) == []


def test_constant_timing_off_the_brush_tick_is_regular():
    clicks = brush_path(30, np.random.default_rng(4), t_step=120)
    assert rq.click_flags(clicks) == [rq.REGULAR_TIMING]
    jittered = [[x, y, t + (k % 3) * 7] for k, (x, y, t) in enumerate(clicks)]
    assert rq.click_flags(jittered) == []


def test_clicks_that_never_move_are_static():
    assert rq.click_flags([[40, 40, 50 * k] for k in range(20)]) == [rq.STATIC]
    assert rq.click_flags([[40 + k % 2, 40, 50 * k] for k in range(20)]) == [rq.STATIC]
    assert rq.click_flags([[40, 40, 50 * k] for k in range(5)]) == []  # too short to say


def test_a_replayed_path_matches_and_a_different_one_does_not():
    rng = np.random.default_rng(5)
    path = brush_path(10, rng)  # the bot of issue 7 replayed 10 clicks
    replay = [[x, y, t + 30] for x, y, t in path]
    nudged = [[x + 1, y, t] for x, y, t in path]
    other = brush_path(10, rng, start=(60, 180))
    fingerprint = rq.path_fingerprint(path)
    assert rq.matching_paths(fingerprint, {1: rq.path_fingerprint(replay), 2: rq.path_fingerprint(nudged)}) == [1, 2]
    assert rq.matching_paths(fingerprint, {3: rq.path_fingerprint(other)}) == []
    assert rq.path_fingerprint(path[:9]) is None  # shorter paths are not compared
    assert not rq.same_path(fingerprint, rq.path_fingerprint(path + path))  # twice the clicks: not the same round


def test_forty_rounds_in_six_seconds_are_all_inhuman_and_a_human_pace_is_not():
    bot = {k: 0.15 * k for k in range(40)}
    assert rq.pace_offenders(bot) == set(range(40))
    fast_human = {k: 2.0 * k for k in range(40)}  # a round every 2 s, for 80 s
    assert rq.pace_offenders(fast_human) == set()
    burst = {k: 0.5 * k for k in range(9)}  # nine quick skips' worth: below the ten of the rule
    assert rq.pace_offenders(burst) == set()
    assert rq.pace_offenders({**burst, 9: 4.9, 10: 60.0}) == set(range(10))
