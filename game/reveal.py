"""What the partner network sees of an image (SCIENCE.md section 1): numpy only, no Django."""

import numpy as np
from scipy import ndimage


def reveal_mask(clicks_xy, height, width, bubble_px):
    """Boolean (height, width) mask: a bubble_px square revealed around every click centre."""
    indicator = np.zeros((height, width), dtype=bool)
    if len(clicks_xy):
        xy = np.asarray(clicks_xy, dtype=np.int64).reshape(-1, 2)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)
        xy = xy[inside]
        indicator[xy[:, 1], xy[:, 0]] = True
    # A maximum filter of the click indicator is the union of the squares centred on the clicks.
    return ndimage.maximum_filter(indicator, size=bubble_px, mode="constant", cval=False)


def noise_background(crop, seed, noise_std):
    """SCIENCE.md section 1: clip(image + N(0, noise_std) - 0.5, 0, 1), seeded by the round."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(crop.shape, dtype=np.float32) * np.float32(noise_std)
    return np.clip(crop + noise - np.float32(0.5), 0.0, 1.0)


def centre_crop(image, crop_px=224):
    height, width = image.shape[:2]
    top, left = (height - crop_px) // 2, (width - crop_px) // 2
    return image[top : top + crop_px, left : left + crop_px]


def partner_view(image, clicks_xy, seed, crop_px=224, bubble_px=21, noise_std=0.4, background=None):
    """The centre crop_px crop of `image` (H, W, 3 float32 in [0, 1]) with only the clicked squares
    showing the image; everything else is darkened noise. Click coordinates are in `image` pixels.
    `background` (the round's noise_background of the crop) may be passed in when already made."""
    height, width = image.shape[:2]
    top, left = (height - crop_px) // 2, (width - crop_px) // 2
    crop = centre_crop(image, crop_px)
    mask = reveal_mask(clicks_xy, height, width, bubble_px)[top : top + crop_px, left : left + crop_px]
    if background is None:
        background = noise_background(crop, seed, noise_std)
    return np.where(mask[..., None], crop, background)
