"""What the partner network sees of an image (docs/SCIENCE.md section 1): numpy only, no Django."""

import numpy as np


def _squares(clicks_xy, height, width, bubble_px):
    """(y0, y1, x0, x1) of each click's bubble_px square, clipped to the image; clicks outside the
    image reveal nothing. The square is the footprint of a maximum filter of size bubble_px centred on
    the click (for an even size one pixel more on the low side, as scipy.ndimage centres it)."""
    xy = np.asarray(clicks_xy, dtype=np.int64).reshape(-1, 2)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)
    xy = xy[inside]
    low, high = bubble_px - 1 - bubble_px // 2, bubble_px // 2
    x0, x1 = np.clip(xy[:, 0] - low, 0, width), np.clip(xy[:, 0] + high + 1, 0, width)
    y0, y1 = np.clip(xy[:, 1] - low, 0, height), np.clip(xy[:, 1] + high + 1, 0, height)
    return zip(y0.tolist(), y1.tolist(), x0.tolist(), x1.tolist(), strict=True)


def reveal_mask(clicks_xy, height, width, bubble_px):
    """Boolean (height, width) mask: a bubble_px square revealed around every click centre."""
    mask = np.zeros((height, width), dtype=bool)
    for y0, y1, x0, x1 in _squares(clicks_xy, height, width, bubble_px):
        mask[y0:y1, x0:x1] = True
    return mask


def noise_background(crop, seed, noise_std):
    """docs/SCIENCE.md section 1: clip(image + N(0, noise_std) - 0.5, 0, 1), seeded by the round."""
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
    view = noise_background(crop, seed, noise_std) if background is None else background.copy()
    # Each square is pasted from the image (overlaps paste the same pixels): a few microseconds a click,
    # where masking the whole view costs milliseconds.
    for y0, y1, x0, x1 in _squares(clicks_xy, height, width, bubble_px):
        y0, y1 = max(y0 - top, 0), min(y1 - top, crop_px)
        x0, x1 = max(x0 - left, 0), min(x1 - left, crop_px)
        if y0 < y1 and x0 < x1:
            view[y0:y1, x0:x1] = crop[y0:y1, x0:x1]
    return view
