"""Stimuli of the rapid-categorisation experiment (docs/SCIENCE.md section 6), numpy only: an image with
only its top k% pixels visible, ranked by a feature map (a ClickMe map or bottom-up saliency), mid
grey elsewhere; and the noise masks shown after a stimulus.

Ties in a map (a ClickMe map is exactly 0 wherever no click came near) are broken first by the
distance to the nearest pixel above the map's minimum, so the visible region grows outwards from
what the map marks as a solid region (no speckle), then by a seeded random order: the same inputs
and seed always give the same pixels.
"""

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image as PILImage
from scipy import ndimage

from annotations.saliency import spectral_residual_saliency

GREY = 128
RECIPE = "clickme-psychophysics-stimulus/1"  # change when the rendering changes: it is in every fingerprint
MASK_SPECTRUM_EXPONENT = 1.0  # amplitude ~ 1/f: pink noise


def reveal_order(feature_map: np.ndarray, seed: Sequence[int] | int) -> np.ndarray:
    """Flat pixel indices from most to least important under `feature_map` (ties as the module says)."""
    values = np.asarray(feature_map, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"expected an (H, W) map, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("the map holds NaN or infinite values")
    marked = values > values.min()
    if marked.any():  # distance of every pixel to the nearest marked one (0 on the marked ones)
        distance = ndimage.distance_transform_edt(~marked).ravel()
    else:
        distance = np.zeros(values.size)
    # Stable sorts from the last key to the first: a seeded random order, then the distance, then the map.
    order = np.random.default_rng(seed).permutation(values.size)
    order = order[np.argsort(distance[order], kind="stable")]
    return order[np.argsort(-values.ravel()[order], kind="stable")]


def n_revealed(level_pct: float, n_pixels: int) -> int:
    if not 0 < level_pct <= 100:
        raise ValueError(f"level_pct must be in (0, 100], not {level_pct}")
    return int(round(level_pct / 100.0 * n_pixels))


def reveal_by_order(image: np.ndarray, order: np.ndarray, level_pct: float, *, grey: int = GREY) -> np.ndarray:
    """(H, W, 3) uint8: the first `level_pct` percent of `order` (from reveal_order) shown, grey elsewhere."""
    pixels = np.asarray(image)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {pixels.shape} {pixels.dtype}")
    height, width = pixels.shape[:2]
    if order.shape != (height * width,):
        raise ValueError(f"image {pixels.shape[:2]} and map of {order.size} pixels differ in size")
    keep = np.zeros(height * width, dtype=bool)
    keep[order[: n_revealed(level_pct, height * width)]] = True
    out = np.full_like(pixels, grey)
    visible = keep.reshape(height, width)
    out[visible] = pixels[visible]
    return out


def reveal_top_k(
    image: np.ndarray, feature_map: np.ndarray, level_pct: float, *, seed: Sequence[int] | int, grey: int = GREY
) -> np.ndarray:
    """(H, W, 3) uint8: the top `level_pct` percent of pixels of `image` by `feature_map`, grey elsewhere."""
    if np.shape(image)[:2] != np.shape(feature_map):
        raise ValueError(f"image {np.shape(image)[:2]} and map {np.shape(feature_map)} differ in size")
    n_revealed(level_pct, 1)  # a bad level is refused before the ranking is computed
    return reveal_by_order(image, reveal_order(feature_map, seed), level_pct, grey=grey)


def saliency_map(image: np.ndarray) -> np.ndarray:
    """The project's one bottom-up baseline: spectral residual saliency (annotations/saliency.py)."""
    return spectral_residual_saliency(np.asarray(image, dtype=np.float64) / 255.0, mode="opponent")


def noise_mask(seed: Sequence[int] | int, size_px: int = 256) -> np.ndarray:
    """(size_px, size_px, 3) uint8 colour noise with a 1/f amplitude spectrum (random phase per channel)."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(size_px)[:, None]
    fx = np.fft.rfftfreq(size_px)[None, :]
    frequency = np.hypot(fx, fy)
    frequency[0, 0] = 1.0
    amplitude = frequency**-MASK_SPECTRUM_EXPONENT
    amplitude[0, 0] = 0.0
    channels = []
    for _channel in range(3):
        phase = rng.uniform(0, 2 * np.pi, amplitude.shape)
        noise = np.fft.irfft2(amplitude * np.exp(1j * phase), s=(size_px, size_px))
        low, high = np.percentile(noise, [1, 99])
        channels.append(np.clip((noise - low) / (high - low), 0, 1))
    return np.round(np.stack(channels, axis=-1) * 255).astype(np.uint8)


def png_bytes(pixels: np.ndarray) -> bytes:
    """Deterministic PNG bytes of an (H, W, 3) uint8 array (no timestamps or metadata)."""
    buffer = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()
