"""ClickMe maps from clicks, and their split-half reliability (SCIENCE.md section 2). numpy/scipy only.

Everything is vectorised: clicks are counted with one bincount, the two disc blurs are FFT
convolutions, area downsampling is two small matrix products, Spearman's rho is Pearson on ranks.
"""

import numpy as np
from scipy import signal, stats

DISC_DIAMETER_PX = 21
RELIABILITY_SIZE_PX = 64
N_SPLITS = 10
MIN_PLAYERS_FOR_RHO = 4
RECIPE = "clickme2-disc21x2-max"


def disc_kernel(diameter=DISC_DIAMETER_PX):
    # SCIENCE.md section 2 step 3: K[i, j] = 1 if (i - c)^2 + (j - c)^2 <= c^2, c = (d - 1) / 2; K /= K.sum()
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


def _same_convolution(image, kernel):
    """conv(image, kernel), same size, zero padding outside (= ndimage.convolve mode="constant", cval=0)."""
    return signal.fftconvolve(image, kernel, mode="same")


def blur_and_normalise(mean_counts, diameter=DISC_DIAMETER_PX):
    """Steps 3 and 4: the disc blur applied twice, then divided by the maximum when positive."""
    kernel = disc_kernel(diameter)
    blurred = _same_convolution(_same_convolution(mean_counts, kernel), kernel)
    top = blurred.max()
    if top <= 0:
        return np.zeros_like(blurred)
    # FFT round-off leaves +-1e-17 where the exact convolution is 0; those must stay exact zeros
    # (ties), or they would get random ranks in Spearman's rho.
    blurred[blurred < top * 1e-9] = 0.0
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
    rhos = np.asarray(rhos)
    return float(np.nanmean(rhos)) if np.isfinite(rhos).any() else None


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


def resize_bilinear(image, height, width):
    """Bilinear resize of a 2-D map (for exports at another size), align-corners=False convention."""
    in_h, in_w = image.shape
    if (in_h, in_w) == (height, width):
        return image.astype(np.float64, copy=False)

    def axis(n_in, n_out):
        position = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, n_in - 1)
        return low, high, position - low

    y0, y1, wy = axis(in_h, height)
    x0, x1, wx = axis(in_w, width)
    top = image[y0][:, x0] * (1 - wx) + image[y0][:, x1] * wx
    bottom = image[y1][:, x0] * (1 - wx) + image[y1][:, x1] * wx
    return top * (1 - wy)[:, None] + bottom * wy[:, None]
