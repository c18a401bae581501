"""ClickMe maps from clicks, and their split-half reliability (docs/SCIENCE.md section 2). numpy/scipy only.

Everything is vectorised: clicks are counted with one bincount, the two disc blurs are FFT
convolutions with the kernel's spectrum computed once, area downsampling is two small matrix products, Spearman's rho is Pearson on ranks.
"""

from functools import lru_cache

import numpy as np
from scipy import fft, stats

DISC_DIAMETER_PX = 21
RELIABILITY_SIZE_PX = 64
N_SPLITS = 10
MIN_PLAYERS_FOR_RHO = 4
RECIPE = "clickme2-disc21x2-max"
ROUND_OFF_FLOOR = 1e-6


def disc_kernel(diameter=DISC_DIAMETER_PX):
    # docs/SCIENCE.md section 2 step 3: K[i, j] = 1 if (i - c)^2 + (j - c)^2 <= c^2, c = (d - 1) / 2; K /= K.sum()
    c = (diameter - 1) / 2
    i, j = np.mgrid[0:diameter, 0:diameter]
    kernel = (((i - c) ** 2 + (j - c) ** 2) <= c**2).astype(np.float64)
    return kernel / kernel.sum()


def _xy(clicks):
    """An (n, 2) float array of x, y from [[x, y, t_ms], ...] or [[x, y], ...] (possibly empty)."""
    array = np.asarray(clicks, dtype=np.float64)
    return array[:, :2] if array.size else np.zeros((0, 2))


def count_map(clicks, height, width):
    """Step 1: number of clicks per integer pixel (x, y); columns after x, y are ignored."""
    xy = _xy(clicks)
    x, y = np.floor(xy[:, 0]).astype(np.int64), np.floor(xy[:, 1]).astype(np.int64)
    inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    flat = y[inside] * width + x[inside]
    return np.bincount(flat, minlength=height * width).astype(np.float64).reshape(height, width)


@lru_cache(maxsize=16)
def _disc_spectrum(height, width, diameter):
    """The disc kernel's real FFT at a fast size that holds the full linear convolution (computed once)."""
    shape = (fft.next_fast_len(height + diameter - 1, real=True), fft.next_fast_len(width + diameter - 1, real=True))
    return shape, fft.rfft2(disc_kernel(diameter).astype(np.float32), s=shape)


def _same_convolution(image, diameter):
    """conv(image, disc), same size, zero padding outside (= ndimage.convolve mode="constant", cval=0)."""
    height, width = image.shape
    shape, spectrum = _disc_spectrum(height, width, diameter)
    full = fft.irfft2(fft.rfft2(image.astype(np.float32, copy=False), s=shape) * spectrum, s=shape)
    c = diameter // 2
    return full[c : c + height, c : c + width]


def blur_and_normalise(mean_counts, diameter=DISC_DIAMETER_PX):
    """Steps 3 and 4: the disc blur applied twice, then divided by the maximum when positive."""
    # The crop to the image between the two blurs matters at the border, so they are not merged.
    blurred = _same_convolution(_same_convolution(mean_counts, diameter), diameter).astype(np.float64)
    top = blurred.max()
    if top <= 0:
        return np.zeros_like(blurred)
    # Single-precision FFT round-off (~1e-7 of the maximum) leaves noise where the exact convolution
    # is 0; those pixels must stay exact zeros (ties), or they would get random ranks in Spearman's rho.
    blurred[blurred < top * ROUND_OFF_FLOOR] = 0.0
    return blurred / top


def clickme_map(rounds, height, width, diameter=DISC_DIAMETER_PX):
    """The ClickMe map of one image: `rounds` is a list of (n_r, 2 or 3) click arrays, one per round."""
    if len(rounds) == 0:
        return np.zeros((height, width), dtype=np.float64)
    # Step 2: the mean over rounds of the per-round count maps = all counts / number of rounds.
    stacked = np.concatenate([_xy(r) for r in rounds])
    mean_counts = count_map(stacked, height, width) / len(rounds)
    return blur_and_normalise(mean_counts, diameter)


def _area_weights(n_in, n_out):
    """(n_out, n_in) matrix whose rows average the input cells each output cell covers, by overlap."""
    edges = np.linspace(0, n_in, n_out + 1)
    starts, ends = edges[:-1, None], edges[1:, None]
    cells = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(ends, cells + 1) - np.maximum(starts, cells), 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def downsample_area(image, size=RELIABILITY_SIZE_PX):
    """Area-averaging resize of a 2-D map to size x size (exact block means when the size divides)."""
    height, width = image.shape
    return _area_weights(height, size) @ image @ _area_weights(width, size).T


def spearman_rho(a, b):
    rho = stats.spearmanr(np.ravel(a), np.ravel(b)).statistic
    return float(rho) if np.isfinite(rho) else float("nan")


def split_half_rho(player_rounds, height, width, n_splits=N_SPLITS, seed=0, size=RELIABILITY_SIZE_PX):
    """Mean Spearman rho between maps of two random halves (n // 2 players each) over seeded splits.
    `player_rounds` holds one click array per player. None with fewer than 4 players."""
    n = len(player_rounds)
    if n < MIN_PLAYERS_FOR_RHO:
        return None
    rng = np.random.default_rng(seed)
    half = n // 2
    rhos = []
    for _ in range(n_splits):
        order = rng.permutation(n)
        a = clickme_map([player_rounds[i] for i in order[:half]], height, width)
        b = clickme_map([player_rounds[i] for i in order[half : 2 * half]], height, width)
        rhos.append(spearman_rho(downsample_area(a, size), downsample_area(b, size)))
    rho_of = np.asarray(rhos)
    return float(np.nanmean(rho_of)) if np.isfinite(rho_of).any() else None


def split_half_null(images_player_rounds, height, width, n_pairs=None, seed=0, size=RELIABILITY_SIZE_PX):
    """The null of split_half_rho: a half of one image's players against a half of another image's."""
    eligible = [rounds for rounds in images_player_rounds if len(rounds) >= MIN_PLAYERS_FOR_RHO]
    if len(eligible) < 2:
        return None
    rng = np.random.default_rng(seed)
    n_pairs = n_pairs or len(eligible)
    rhos = []
    for _ in range(n_pairs):
        i, j = rng.choice(len(eligible), size=2, replace=False)
        first, second = eligible[i], eligible[j]
        half_a = [first[k] for k in rng.permutation(len(first))[: len(first) // 2]]
        half_b = [second[k] for k in rng.permutation(len(second))[: len(second) // 2]]
        a, b = clickme_map(half_a, height, width), clickme_map(half_b, height, width)
        rhos.append(spearman_rho(downsample_area(a, size), downsample_area(b, size)))
    return float(np.nanmean(rhos))


def bootstrap_mean_ci(values, n_resamples=2000, seed=0, level=0.95):
    """Mean of `values` with a percentile bootstrap interval; (None, [None, None]) when empty."""
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    if len(values) == 0:
        return None, [None, None]
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_resamples, len(values)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return float(values.mean()), [float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))]


@lru_cache(maxsize=32)
def _bilinear_weights(n_in, n_out):
    """(n_out, n_in) interpolation matrix of bilinear resizing (align-corners=False convention)."""
    position = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, n_in - 1)
    weights = np.zeros((n_out, n_in))
    np.add.at(weights, (np.arange(n_out), low), 1 - (position - low))
    np.add.at(weights, (np.arange(n_out), high), position - low)
    weights.setflags(write=False)
    return weights


def resize_bilinear(maps_, height, width, dtype=np.float64):
    """Bilinear resize of a map (H, W) or a stack of maps (N, H, W): two small matrix products."""
    maps_ = np.asarray(maps_)
    in_h, in_w = maps_.shape[-2:]
    wy = _bilinear_weights(in_h, height).astype(dtype)
    wx = _bilinear_weights(in_w, width).astype(dtype)
    return wy @ maps_.astype(dtype, copy=False) @ wx.T
