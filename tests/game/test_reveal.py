import numpy as np
import pytest
from scipy import ndimage

from game.reveal import noise_background, partner_view, reveal_mask


def test_each_click_reveals_a_21_px_square_centred_on_it():
    mask = reveal_mask([(100, 50)], 256, 256, 21)
    ys, xs = np.nonzero(mask)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (90, 110, 40, 60)
    assert mask.sum() == 21 * 21


def test_squares_at_the_border_are_clipped():
    mask = reveal_mask([(0, 255)], 256, 256, 21)
    assert mask.sum() == 11 * 11


def test_partner_sees_the_image_only_where_clicked():
    rng = np.random.default_rng(0)
    image = rng.random((256, 256, 3), dtype=np.float32)
    view = partner_view(image, [(128, 128)], seed=3)
    assert view.shape == (224, 224, 3)
    crop = image[16:240, 16:240]
    # click (128, 128) is (112, 112) in the crop; its square is revealed, the rest is noise
    assert np.array_equal(view[102:123, 102:123], crop[102:123, 102:123])
    outside = np.ones((224, 224), dtype=bool)
    outside[102:123, 102:123] = False
    assert not np.allclose(view[outside], crop[outside])


def test_background_is_darkened_clipped_noise_seeded_by_round():
    crop = np.full((224, 224, 3), 0.5, dtype=np.float32)
    a, b, c = noise_background(crop, 7, 0.4), noise_background(crop, 7, 0.4), noise_background(crop, 8, 0.4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() <= 1
    # clip(0.5 + N(0, 0.4) - 0.5): mean of a clipped N(0, 0.4) at 0 is 0.4 / sqrt(2 pi) ~ 0.16
    assert abs(a.mean() - 0.4 / np.sqrt(2 * np.pi)) < 0.01


@pytest.mark.parametrize("bubble_px", [21, 14, 1])
def test_the_view_is_exactly_the_maximum_filter_rule(bubble_px):
    """docs/SCIENCE.md section 1's reveal, written as its definition: the crop where a maximum filter of
    the click indicator is set (clicks anywhere in the image, the crop's border too), noise elsewhere."""
    rng = np.random.default_rng(bubble_px)
    image = rng.random((256, 300, 3), dtype=np.float32)
    clicks = [(int(x), int(y)) for x, y in rng.integers(-20, 320, (60, 2))] + [(0, 0), (299, 255), (30, 16)]
    indicator = np.zeros((256, 300), dtype=bool)
    for x, y in clicks:
        if 0 <= x < 300 and 0 <= y < 256:
            indicator[y, x] = True
    mask = ndimage.maximum_filter(indicator, size=bubble_px, mode="constant", cval=False)
    assert np.array_equal(reveal_mask(clicks, 256, 300, bubble_px), mask)
    top, left = (256 - 224) // 2, (300 - 224) // 2
    crop = image[top : top + 224, left : left + 224]
    expected = np.where(mask[top : top + 224, left : left + 224, None], crop, noise_background(crop, 5, 0.4))
    background = noise_background(crop, 5, 0.4)
    assert np.array_equal(partner_view(image, clicks, seed=5, bubble_px=bubble_px), expected)
    assert np.array_equal(partner_view(image, clicks, seed=5, bubble_px=bubble_px, background=background), expected)
    assert np.array_equal(background, noise_background(crop, 5, 0.4))  # the round's cached background is not written
