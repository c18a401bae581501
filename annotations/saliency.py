"""Bottom-up saliency: the spectral residual of Hou & Zhang (CVPR 2007), and the AUC of a map against a
mask. numpy/scipy only. The project's one saliency baseline (docs/SCIENCE.md sections 6 and 7).

The spectral residual works on a small copy of the image (64 px on its long side): it removes the
smooth part of the log amplitude spectrum, keeps the phase, transforms back and blurs. `opponent`
applies it to the intensity and the two colour-opponent channels and sums the three, so colour
pop-out counts too (the stronger baseline); `intensity` is the paper's grey-level version.
"""

import numpy as np
from scipy import ndimage, stats

WORKING_SIZE_PX = 64
RESIDUAL_FILTER_PX = 3
BLUR_SIGMA_PX = 2.5
CHANNEL_MODES = ("opponent", "intensity")


def _channels(image, mode):
    """(k, H, W) float64 channels of an (H, W), (H, W, 1) or (H, W, 3) image; any numeric range."""
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        return array[None]
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {array.shape}")
    r, g, b = array[..., 0], array[..., 1], array[..., 2]
    intensity = (r + g + b) / 3.0
    if mode == "intensity":
        return intensity[None]
    # Opponent colour channels (red-green, blue-yellow), as in Itti, Koch & Niebur 1998.
    return np.stack([intensity, r - g, b - (r + g) / 2.0])


def _spectral_residual(channel):
    # Hou & Zhang 2007, eq. 5-9: R = log|F| - h * log|F|; S = g * |F^-1[exp(R + i phase)]|^2
    spectrum = np.fft.fft2(channel)
    log_amplitude = np.log(np.abs(spectrum) + 1e-12)
    residual = log_amplitude - ndimage.uniform_filter(log_amplitude, size=RESIDUAL_FILTER_PX, mode="wrap")
    return np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2


def spectral_residual_saliency(image, mode="opponent", working_size_px=WORKING_SIZE_PX, sigma_px=BLUR_SIGMA_PX):
    """Saliency of `image` as an (H, W) float64 map in [0, 1] (1 at the most salient pixel).

    A uniform image (nothing salient) gives all zeros. `sigma_px` is the final Gaussian blur at the
    working size."""
    if mode not in CHANNEL_MODES:
        raise ValueError(f"mode must be one of {CHANNEL_MODES}, not {mode!r}")
    channels = _channels(image, mode)
    height, width = channels.shape[1:]
    scale = working_size_px / max(height, width)
    small_shape = (max(1, round(height * scale)), max(1, round(width * scale)))
    total = np.zeros(small_shape)
    for channel in channels:
        if scale < 1:  # anti-alias before shrinking
            channel = ndimage.gaussian_filter(channel, (1 / scale - 1) / 2, mode="nearest")
        small = ndimage.zoom(
            channel, (small_shape[0] / height, small_shape[1] / width), order=1, mode="nearest", grid_mode=True
        )
        small = small[: small_shape[0], : small_shape[1]]
        if np.ptp(small) <= 1e-9 * max(1.0, np.abs(small).max()):
            continue  # a flat channel carries no saliency
        total += _spectral_residual(small - small.mean())
    total = ndimage.gaussian_filter(total, sigma_px, mode="nearest")
    full = ndimage.zoom(
        total, (height / small_shape[0], width / small_shape[1]), order=1, mode="nearest", grid_mode=True
    )
    full = np.clip(full[:height, :width], 0.0, None)
    peak = full.max()
    return full / peak if peak > 0 else full


def roc_auc(scores, mask):
    """Area under the ROC curve of `scores` ranking the pixels of boolean `mask` above the rest
    (Mann-Whitney U with tied scores counted half); NaN when the mask is empty or full."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    positive = np.asarray(mask, dtype=bool).ravel()
    if scores.shape != positive.shape:
        raise ValueError(f"scores {scores.shape} and mask {positive.shape} differ in size")
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = stats.rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
