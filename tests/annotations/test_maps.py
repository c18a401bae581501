"""The map core against a plain, obviously-correct implementation of docs/SCIENCE.md section 2."""

import numpy as np
import pytest
from scipy import stats

from annotations import maps


def naive_map(rounds, height, width, d=21):
    c = (d - 1) / 2
    kernel = np.zeros((d, d))
    for i in range(d):
        for j in range(d):
            if (i - c) ** 2 + (j - c) ** 2 <= c**2:
                kernel[i, j] = 1.0
    kernel /= kernel.sum()
    mean = np.zeros((height, width))
    for clicks in rounds:
        counts = np.zeros((height, width))
        for x, y, *_ in clicks:
            counts[int(y), int(x)] += 1
        mean += counts / len(rounds)

    def convolve(image):
        out = np.zeros_like(image)
        r = d // 2
        for y in range(height):
            for x in range(width):
                total = 0.0
                for i in range(d):
                    for j in range(d):
                        yy, xx = y + i - r, x + j - r
                        if 0 <= yy < height and 0 <= xx < width:
                            total += image[yy, xx] * kernel[d - 1 - i, d - 1 - j]
                out[y, x] = total
        return out

    blurred = convolve(convolve(mean))
    return blurred / blurred.max() if blurred.max() > 0 else blurred


def random_rounds(rng, n_rounds, height, width):
    rounds = []
    for _ in range(n_rounds):
        n = rng.integers(1, 30)
        clicks = np.column_stack([rng.integers(0, width, n), rng.integers(0, height, n), np.arange(n) * 50])
        # clicks on every border and corner
        clicks[0, :2] = [0, 0]
        clicks[-1, :2] = [width - 1, height - 1]
        rounds.append(clicks)
    rounds[0] = np.vstack([rounds[0], [[0, height // 2, 999], [width - 1, 0, 999]]])
    return rounds


@pytest.mark.parametrize("seed", [0, 1])
def test_core_matches_the_naive_recipe_on_random_clicks(seed):
    rng = np.random.default_rng(seed)
    height, width = 40, 48  # small, so the naive loops stay fast; the recipe is size-independent
    rounds = random_rounds(rng, 5, height, width)
    fast = maps.clickme_map(rounds, height, width)
    slow = naive_map(rounds, height, width)
    assert fast.max() == pytest.approx(1.0)
    assert np.abs(fast - slow).max() < 1e-4


def test_disc_kernel_is_the_flat_normalised_disc_of_diameter_21():
    kernel = maps.disc_kernel()
    assert kernel.shape == (21, 21) and kernel.sum() == pytest.approx(1.0)
    assert kernel[10, 0] > 0 and kernel[0, 0] == 0 and kernel[0, 10] > 0
    assert len(np.unique(kernel)) == 2


def test_mean_over_rounds_weights_each_round_equally():
    # one round with 3 clicks at A, one round with 1 click at B: mean counts are 1.5 and 0.5
    counts = (
        maps.count_map(np.array([[5, 5], [5, 5], [5, 5]]), 16, 16) / 2 + maps.count_map(np.array([[9, 9]]), 16, 16) / 2
    )
    assert counts[5, 5] == 1.5 and counts[9, 9] == 0.5


def test_no_clicks_give_an_all_zero_map():
    assert not maps.clickme_map([], 8, 8).any()
    assert not maps.clickme_map([np.zeros((0, 3))], 8, 8).any()


def test_area_downsample_is_the_block_mean():
    image = np.arange(256 * 256, dtype=np.float64).reshape(256, 256)
    expected = image.reshape(64, 4, 64, 4).mean(axis=(1, 3))
    assert np.allclose(maps.downsample_area(image, 64), expected)
    odd = np.random.default_rng(0).random((100, 70))
    assert maps.downsample_area(odd, 64).mean() == pytest.approx(odd.mean(), rel=1e-9)


def test_spearman_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.random((8, 8)), rng.random((8, 8))
    assert maps.spearman_rho(a, b) == pytest.approx(stats.spearmanr(a.ravel(), b.ravel()).statistic)


def test_split_half_rho_needs_four_players_and_is_high_for_consistent_players():
    rng = np.random.default_rng(0)
    consistent = [np.column_stack([rng.normal(100, 6, 40), rng.normal(60, 6, 40)]).clip(0, 255) for _ in range(8)]
    random = [rng.integers(0, 256, (40, 2)) for _ in range(8)]
    assert maps.split_half_rho(consistent[:3], 256, 256) is None
    assert maps.split_half_rho(consistent, 256, 256) > 0.8
    assert maps.split_half_rho(consistent, 256, 256) > maps.split_half_rho(random, 256, 256) + 0.3


def test_split_half_null_is_near_zero_for_unrelated_images():
    rng = np.random.default_rng(1)
    images = []
    for _ in range(12):
        centre = rng.uniform(40, 216, 2)
        images.append(
            [
                np.column_stack([rng.normal(centre[0], 8, 30), rng.normal(centre[1], 8, 30)]).clip(0, 255)
                for _ in range(6)
            ]
        )
    null = maps.split_half_null(images, 256, 256, n_pairs=30)
    reliable = np.mean([maps.split_half_rho(players, 256, 256) for players in images])
    assert abs(null) < 0.25 and reliable > null + 0.5


def test_bootstrap_interval_brackets_the_mean():
    mean, (low, high) = maps.bootstrap_mean_ci([0.5, 0.6, 0.7, 0.55, 0.65])
    assert low < mean < high and mean == pytest.approx(0.6)
    assert maps.bootstrap_mean_ci([]) == (None, [None, None])


def test_bilinear_resize_keeps_constant_maps_and_shapes():
    image = np.full((256, 256), 0.25)
    assert np.allclose(maps.resize_bilinear(image, 224, 224), 0.25)
    assert maps.resize_bilinear(np.random.default_rng(0).random((256, 256)), 224, 100).shape == (224, 100)
