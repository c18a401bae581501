"""The synthetic benchmark is a fair test (docs/SCIENCE.md section 7, issue 8 item 3, issue 9 item 1):
many categories that differ only in a small modest part, which bottom-up saliency does not find."""

import itertools

import numpy as np

from annotations.benchmark_report import SALIENCY_AUC_TARGET, saliency_aucs
from annotations.saliency import spectral_residual_saliency
from game.synthetic_benchmark import CATEGORIES, CROP_MARGIN_PX, SIZE_PX, scene


def test_at_least_fifty_categories_each_two_bars_apart():
    assert len(CATEGORIES) >= 50
    assert len({name for name, _wnid, _code in CATEGORIES}) == len(CATEGORIES)
    for (_a, _wa, code_a), (_b, _wb, code_b) in itertools.combinations(CATEGORIES, 2):
        assert sum(x != y for x, y in zip(code_a, code_b, strict=True)) >= 2


def test_the_category_lives_only_in_the_diagnostic_part():
    # the same random draws with two categories: the images differ inside the mask and nowhere else
    image_a, mask_a = scene(np.random.default_rng(7), 0)
    image_b, mask_b = scene(np.random.default_rng(7), 5)
    assert np.array_equal(mask_a, mask_b)
    differs = np.any(image_a != image_b, axis=2)
    assert differs.any() and not differs[~mask_a].any()


def test_the_part_is_small_modest_and_inside_the_partner_view():
    for seed in range(20):
        image, mask = scene(np.random.default_rng(seed), seed % len(CATEGORIES))
        ys, xs = np.nonzero(mask)
        assert ys.min() >= CROP_MARGIN_PX and ys.max() < SIZE_PX - CROP_MARGIN_PX
        assert xs.min() >= CROP_MARGIN_PX and xs.max() < SIZE_PX - CROP_MARGIN_PX
        assert mask.mean() < 0.04
        part = image[mask].astype(float)
        # muted: the part's most saturated pixel is less saturated than the scene's most saturated one
        saturation = image.astype(float).max(axis=2) - image.astype(float).min(axis=2)
        assert (part.max(axis=1) - part.min(axis=1)).max() < saturation.max()


def test_bottom_up_saliency_does_not_find_the_part():
    rng = np.random.default_rng(11)
    pairs = [scene(rng, k % len(CATEGORIES)) for k in range(40)]
    summary = saliency_aucs(pairs)
    mean, (_low, high) = summary.mean_ci
    assert high <= SALIENCY_AUC_TARGET, summary.line(SALIENCY_AUC_TARGET, at_most=True)
    # the distractors are more salient: the saliency peak lies off the part in most scenes
    peaks_on_part = [mask.ravel()[np.argmax(spectral_residual_saliency(image))] for image, mask in pairs]
    assert np.mean(peaks_on_part) < 0.2
