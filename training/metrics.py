"""Accuracy and human alignment (docs/SCIENCE.md section 5): top-k, attention alignment, saliency alignment.
Pure torch and numpy (the rank correlation and area resize are annotations' pure map core)."""

import numpy as np
import torch
from torch.nn import functional as F

from annotations.maps import downsample_area, spearman_rho

ALIGNMENT_SIZE_PX = 64


def top_k_correct(logits, targets, k):
    k = min(k, logits.shape[1])
    return (logits.topk(k, dim=1).indices == targets[:, None]).any(dim=1)


def _map_at_64(the_map):
    return downsample_area(np.asarray(the_map, dtype=np.float64), ALIGNMENT_SIZE_PX)


def attention_alignment(attention_map, clickme_maps):
    """Per image: Spearman rho between a_l upsampled (bilinear) to 64 x 64 and the map downsampled (area) to 64 x 64."""
    up = F.interpolate(
        attention_map[:, None].float(), size=(ALIGNMENT_SIZE_PX,) * 2, mode="bilinear", align_corners=False
    )[:, 0]
    return [spearman_rho(up[i].detach().cpu().numpy(), _map_at_64(clickme_maps[i])) for i in range(len(up))]


def saliency_maps(model, images, targets):
    """max over RGB of |d logit_true / d image| (Fel et al. 2022), shape (N, H, W)."""
    images = images.clone().requires_grad_(True)
    logits, _maps = model(images)
    chosen = logits.gather(1, targets[:, None]).sum()
    (gradient,) = torch.autograd.grad(chosen, images)
    return gradient.abs().amax(dim=1)


def saliency_alignment(saliency, clickme_maps):
    """Per image: Spearman rho between the saliency and the map, both area-downsampled to 64 x 64."""
    return [
        spearman_rho(_map_at_64(saliency[i].detach().cpu().numpy()), _map_at_64(clickme_maps[i]))
        for i in range(len(saliency))
    ]


def normalised_alignment(rhos, human_ceiling):
    """The Harmonization score: mean rho divided by the human ceiling (mean split-half rho)."""
    values = [r for r in rhos if np.isfinite(r)]
    if not values or not human_ceiling:
        return None
    return float(np.mean(values) / human_ceiling)


HARMONIZATION_SIZE_PX = 224
HARMONIZATION_CEILING = 0.6575  # Fel et al. 2022: the fixed human ceiling of their ClickMe benchmark


def saliency_alignment_harmonization(saliency, clickme_maps, size=HARMONIZATION_SIZE_PX):
    """Harmonization's protocol, per image: Spearman rho between the saliency and the map, both
    resized (bilinear, antialiased) to size x size; divide the mean by HARMONIZATION_CEILING."""
    saliency = torch.as_tensor(np.asarray(saliency, dtype=np.float32))[:, None]
    maps_ = torch.as_tensor(np.asarray(clickme_maps, dtype=np.float32))[:, None]
    up = F.interpolate(saliency, size=(size, size), mode="bilinear", align_corners=False, antialias=True)[:, 0]
    down = F.interpolate(maps_, size=(size, size), mode="bilinear", align_corners=False, antialias=True)[:, 0]
    return [spearman_rho(up[i].numpy(), down[i].numpy()) for i in range(len(up))]


def spearman_brown(rho):
    """The reliability of a full-size map from the split-half rho of two half-size maps: 2 rho / (1 + rho)."""
    if rho is None or not np.isfinite(rho) or rho <= -1:
        return None
    return float(2 * rho / (1 + rho))


def _finite(values):
    values = np.asarray(values, dtype=np.float64).ravel()
    return values[np.isfinite(values)]


def bootstrap_interval(values, n_resamples=2000, seed=0, level=0.95):
    """(mean, low, high): the mean of the finite `values` with a percentile bootstrap interval over
    them (e.g. test images); (nan, nan, nan) when none is finite."""
    values = _finite(values)
    if len(values) == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_resamples, len(values)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return float(values.mean()), float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def bootstrap_interval_seeds_images(matrix, n_resamples=2000, seed=0, level=0.95):
    """(mean, low, high) of a (seeds, images) matrix, resampling seeds and images together (both
    sources of variation: which network was trained and which images were drawn). NaNs are skipped."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or not np.isfinite(matrix).any():
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    n_seeds, n_images = matrix.shape
    means = np.empty(n_resamples)
    for k in range(n_resamples):
        rows = rng.integers(0, n_seeds, n_seeds)
        columns = rng.integers(0, n_images, n_images)
        means[k] = np.nanmean(matrix[np.ix_(rows, columns)])
    tail = (1 - level) / 2 * 100
    return float(np.nanmean(matrix)), float(np.nanpercentile(means, tail)), float(np.nanpercentile(means, 100 - tail))


def paired_test(a, b, n_resamples=10000, seed=0, level=0.95):
    """Paired comparison of two per-image measures (e.g. each image's rho under two models, averaged
    over seeds): the mean of a - b with a bootstrap interval, the two-sided sign-flip permutation
    p-value of that mean, and the Wilcoxon signed-rank p-value. Pairs with a NaN are dropped."""
    from scipy import stats

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    difference = a[keep] - b[keep]
    n = len(difference)
    if n == 0:
        return {"n": 0, "mean_difference": float("nan"), "ci95": [float("nan")] * 2, "p_sign_flip": float("nan")}
    mean, low, high = bootstrap_interval(difference, n_resamples=min(n_resamples, 5000), seed=seed, level=level)
    rng = np.random.default_rng(seed)
    flips = rng.choice([-1.0, 1.0], size=(n_resamples, n))
    null = np.abs((flips * difference).mean(axis=1))
    p_flip = float((1 + (null >= abs(mean) - 1e-12).sum()) / (n_resamples + 1))
    nonzero = difference[difference != 0]
    p_wilcoxon = float(stats.wilcoxon(nonzero).pvalue) if len(nonzero) >= 1 else 1.0
    return {
        "n": int(n),
        "mean_difference": mean,
        "ci95": [low, high],
        "p_sign_flip": p_flip,
        "p_wilcoxon": p_wilcoxon,
        "share_higher": float((difference > 0).mean()),
    }
