"""Stimulus rendering (pure core): exactly the top k% pixels by the map, grey elsewhere, deterministic."""

import hashlib

import numpy as np
import pytest

from psychophysics import stimuli


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)


def test_the_top_k_percent_by_the_map_are_shown_and_the_rest_is_grey(image):
    ramp = np.tile(np.arange(64, dtype=float), (64, 1))  # the right-hand columns rank highest
    stimulus = stimuli.reveal_top_k(image, ramp, 25, seed=0)
    shown = np.zeros((64, 64), dtype=bool)
    shown[:, 48:] = True
    assert np.array_equal(stimulus[shown], image[shown])
    assert np.all(stimulus[~shown] == stimuli.GREY)


@pytest.mark.parametrize("level", [1, 3, 5, 10, 20, 40, 60, 80, 100])
def test_exactly_round_k_percent_of_pixels_are_revealed(level, image):
    the_map = np.random.default_rng(1).random((64, 64))
    order = stimuli.reveal_order(the_map, seed=0)
    n = stimuli.n_revealed(level, 64 * 64)
    assert n == round(level / 100 * 4096)
    stimulus = stimuli.reveal_top_k(image, the_map, level, seed=0)
    kept = np.zeros(4096, dtype=bool)
    kept[order[:n]] = True
    kept = kept.reshape(64, 64)
    assert np.array_equal(stimulus[kept], image[kept]) and np.all(stimulus[~kept] == stimuli.GREY)
    assert set(np.flatnonzero(kept)) == set(np.argsort(-the_map.ravel(), kind="stable")[:n])  # no ties here


def test_levels_are_nested_a_larger_level_shows_a_superset(image):
    the_map = np.zeros((64, 64))
    the_map[20:30, 20:30] = 1.0  # a ClickMe-like map: mostly exact zeros (ties)
    previous = np.zeros((64, 64), dtype=bool)
    for level in (1, 3, 5, 10, 20, 40, 60, 80, 100):
        shown = stimuli.reveal_top_k(image, the_map, level, seed=3) != stimuli.GREY
        shown = shown.any(axis=-1)
        assert np.all(shown[previous])
        previous = shown


def test_ties_grow_outwards_from_what_the_map_marks(image):
    the_map = np.zeros((64, 64))
    the_map[30:34, 30:34] = 1.0
    order = stimuli.reveal_order(the_map, seed=0)
    ys, xs = np.unravel_index(order[16:200], (64, 64))  # the first pixels after the marked square
    distance = np.hypot(ys - 31.5, xs - 31.5)
    assert distance.max() < 12  # the zeros near the marked square come before distant ones


def test_rendering_is_deterministic_and_the_seed_only_changes_tie_breaks(image):
    the_map = np.zeros((64, 64))  # all ties: the seeded order decides which pixels show
    first = stimuli.png_bytes(stimuli.reveal_top_k(image, the_map, 60, seed=(0, 1, 0)))
    again = stimuli.png_bytes(stimuli.reveal_top_k(image, the_map, 60, seed=(0, 1, 0)))
    other = stimuli.png_bytes(stimuli.reveal_top_k(image, the_map, 60, seed=(0, 2, 0)))
    assert hashlib.sha256(first).digest() == hashlib.sha256(again).digest()
    assert first != other
    strict = np.random.default_rng(5).random((64, 64))  # no ties: the seed does not matter
    assert np.array_equal(
        stimuli.reveal_top_k(image, strict, 30, seed=1), stimuli.reveal_top_k(image, strict, 30, seed=2)
    )


def test_bad_inputs_are_refused(image):
    with pytest.raises(ValueError, match="level_pct"):
        stimuli.reveal_top_k(image, np.zeros((64, 64)), 0, seed=0)
    with pytest.raises(ValueError, match="differ in size"):
        stimuli.reveal_top_k(image, np.zeros((32, 32)), 10, seed=0)
    with pytest.raises(ValueError, match="NaN"):
        stimuli.reveal_top_k(image, np.full((64, 64), np.nan), 10, seed=0)
    with pytest.raises(ValueError, match="uint8"):
        stimuli.reveal_top_k(image.astype(float), np.zeros((64, 64)), 10, seed=0)


def test_saliency_ranks_a_pop_out_patch_first():
    image = np.random.default_rng(0).normal(110, 15, (128, 128, 3)).clip(0, 255).astype(np.uint8)
    image[60:72, 90:102] = (250, 20, 20)  # a red square on a grey, mildly textured field
    stimulus = stimuli.reveal_top_k(image, stimuli.saliency_map(image), 3, seed=0)
    shown = np.any(stimulus != stimuli.GREY, axis=-1)
    ys, xs = np.nonzero(shown)
    assert 50 <= ys.mean() <= 82 and 80 <= xs.mean() <= 112


def test_masks_are_deterministic_full_range_pink_noise():
    mask = stimuli.noise_mask((0, 1), 128)
    assert mask.shape == (128, 128, 3) and mask.dtype == np.uint8
    assert np.array_equal(mask, stimuli.noise_mask((0, 1), 128))
    assert not np.array_equal(mask, stimuli.noise_mask((0, 2), 128))
    assert mask.min() == 0 and mask.max() == 255
    # 1/f: the power at low spatial frequencies dwarfs that at high ones
    power = np.abs(np.fft.fft2(mask[..., 0].astype(float) - mask[..., 0].mean())) ** 2
    assert power[1:4, 1:4].mean() > 100 * power[40:60, 40:60].mean()


def test_beyond_the_maps_support_the_visible_region_stays_solid_not_speckled():
    from scipy import ndimage

    image = np.random.default_rng(0).integers(0, 256, size=(256, 256, 3), dtype=np.uint8)
    the_map = np.zeros((256, 256))
    the_map[20:40, 20:40] = np.random.default_rng(2).random((20, 20)) + 0.1  # a ClickMe-like blob, zeros elsewhere
    for level in (5, 20, 50, 80):
        shown = np.any(stimuli.reveal_top_k(image, the_map, level, seed=(0, 1, 0)) != stimuli.GREY, axis=-1)
        assert ndimage.label(shown)[1] == 1  # one region grown around the blob
        # no salt and pepper: hardly a grey pixel whose eight neighbours are all shown, or the reverse
        neighbours = ndimage.convolve(shown.astype(int), np.ones((3, 3), int), mode="nearest") - shown
        assert ((~shown) & (neighbours == 8)).sum() + (shown & (neighbours == 0)).sum() <= 0.002 * shown.size
