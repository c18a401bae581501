"""The spectral-residual saliency core and the AUC of a map against a mask, on images whose answer is known."""

import numpy as np
import pytest

from annotations.saliency import roc_auc, spectral_residual_saliency


def _disc(size, cy, cx, radius):
    yy, xx = np.mgrid[0:size, 0:size]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2


def test_roc_auc_of_known_rankings():
    mask = np.array([0, 0, 1, 1], dtype=bool)
    assert roc_auc([0.1, 0.2, 0.8, 0.9], mask) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], mask) == 0.0
    assert roc_auc([0.5, 0.5, 0.5, 0.5], mask) == 0.5  # ties count half
    # positives 0.3 and 0.9 against negatives 0.1 and 0.5: 3 of 4 pairs ordered right
    assert roc_auc([0.1, 0.5, 0.3, 0.9], mask) == 0.75
    assert np.isnan(roc_auc([0.1, 0.2], np.array([True, True])))
    with pytest.raises(ValueError):
        roc_auc([0.1, 0.2, 0.3], mask)


def test_a_uniform_image_has_no_saliency():
    saliency = spectral_residual_saliency(np.full((128, 96, 3), 0.4))
    assert saliency.shape == (128, 96)
    assert not saliency.any()


def test_the_odd_one_out_among_repeated_blobs_is_salient():
    """The spectral residual removes what repeats: among 25 equal small discs, one large disc stands out."""
    size = 256
    image = np.full((size, size), 0.3)
    for row in range(5):
        for col in range(5):
            image[_disc(size, 26 + 51 * row, 26 + 51 * col, 6)] = 0.9
    odd = _disc(size, 26 + 51 * 3, 26 + 51 * 1, 16)
    image[_disc(size, 26 + 51 * 3, 26 + 51 * 1, 6)] = 0.3
    image[odd] = 0.9
    saliency = spectral_residual_saliency(image, mode="intensity")
    assert saliency.shape == (size, size) and saliency.max() == 1.0 and saliency.min() >= 0.0
    assert roc_auc(saliency, odd) > 0.9
    peak_y, peak_x = np.unravel_index(np.argmax(saliency), saliency.shape)
    assert np.hypot(peak_y - (26 + 51 * 3), peak_x - (26 + 51 * 1)) < 24


def test_colour_pop_out_is_found_by_the_opponent_channels_only():
    """A red disc among green of the same intensity: invisible to grey-level saliency, found in colour."""
    size = 192
    rng = np.random.default_rng(0)
    image = np.zeros((size, size, 3))
    image[..., 1] = 0.6 + rng.normal(0, 0.01, (size, size))
    target = _disc(size, 60, 130, 12)
    image[target] = (0.6, 0.0, 0.0)  # same (r + g + b) / 3 as the green field
    colour = spectral_residual_saliency(image, mode="opponent")
    grey = spectral_residual_saliency(image, mode="intensity")
    assert roc_auc(colour, target) > 0.95
    assert roc_auc(grey, target) < 0.75


def test_bad_images_and_modes_are_refused():
    with pytest.raises(ValueError):
        spectral_residual_saliency(np.zeros((8, 8, 4)))
    with pytest.raises(ValueError):
        spectral_residual_saliency(np.zeros((8, 8)), mode="itti")
