"""The analysis of docs/SCIENCE.md section 6, numpy only: accuracy against reveal level for each feature
source, with percentile bootstrap 95% intervals, and the difference between two sources.

The bootstrap resamples clusters, not trials: participants for people (their trials are not
independent), images for a model observer (it sees every stimulus once). Every cell of one
bootstrap draw uses the same resampled clusters, so a difference between sources is paired.
A cell where every trial is right (or every one wrong) has a percentile interval of one point,
which claims a certainty 72 of 72 trials cannot give; such a cell gets the Wilson score interval.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np

DEFAULT_N_BOOT = 2000
CI_LEVEL = 0.95
Z_95 = 1.959963984540054


def _cell_sums(cells: np.ndarray, correct: np.ndarray, clusters: np.ndarray, n_cells: int):
    """(K, n_cells) correct and trial counts per cluster."""
    _ids, cluster_index = np.unique(clusters, return_inverse=True)
    n_clusters = int(cluster_index.max()) + 1 if len(cluster_index) else 0
    flat = cluster_index * n_cells + cells
    hits = np.bincount(flat, weights=correct.astype(np.float64), minlength=n_clusters * n_cells)
    trials = np.bincount(flat, minlength=n_clusters * n_cells).astype(np.float64)
    return hits.reshape(n_clusters, n_cells), trials.reshape(n_clusters, n_cells)


def _bootstrap_accuracies(hits: np.ndarray, trials: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n_cells) accuracies of cluster-resampled data (NaN where a draw has no trial)."""
    n_clusters = hits.shape[0]
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_boot).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights @ hits) / (weights @ trials)


def _interval(draws: np.ndarray) -> list[float | None]:
    finite = draws[np.isfinite(draws)]
    if finite.size == 0:
        return [None, None]
    tail = (1 - CI_LEVEL) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return [float(low), float(high)]


def wilson_interval(n_correct: int, n: int, z: float = Z_95) -> list[float]:
    # Wilson (1927) score interval of a binomial proportion.
    p = n_correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [float(max(0.0, centre - half)), float(min(1.0, centre + half))]


def _cell_interval(draws: np.ndarray, n_correct: int, n: int) -> list[float | None]:
    if n == 0:
        return [None, None]
    if n_correct in (0, n):
        return [*wilson_interval(n_correct, n)]
    return _interval(draws)


def accuracy_curves(
    *,
    sources: Sequence[str],
    levels: Sequence[int],
    correct: Sequence[bool],
    clusters: Sequence,
    source_order: Sequence[str],
    level_order: Sequence[int],
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
) -> dict:
    """Accuracy per (source, level) with its bootstrap interval, and for two sources the difference
    (first minus second) per level and averaged over levels.

    One entry per trial in `sources`, `levels`, `correct` and `clusters` (participant or image id).
    Returns {"curves": {source: [{"level", "n", "n_correct", "accuracy", "ci95"}]},
    "difference": {...} or None, "n_clusters", "n_trials"}.
    """
    source_of = np.asarray(sources, dtype=object)
    level_of = np.asarray(levels, dtype=np.int64)
    correct_of = np.asarray(correct, dtype=bool)
    cluster_of = np.asarray(clusters)
    if not len(source_of) == len(level_of) == len(correct_of) == len(cluster_of):
        raise ValueError("sources, levels, correct and clusters must have one entry per trial")
    source_order, level_order = list(source_order), [int(v) for v in level_order]
    source_index = {s: i for i, s in enumerate(source_order)}
    level_index = {v: i for i, v in enumerate(level_order)}
    known = np.array(
        [s in source_index and int(v) in level_index for s, v in zip(source_of, level_of, strict=True)], dtype=bool
    )
    source_of, level_of, correct_of, cluster_of = (
        source_of[known],
        level_of[known],
        correct_of[known],
        cluster_of[known],
    )
    n_levels = len(level_order)
    n_cells = len(source_order) * n_levels
    cells = np.array(
        [source_index[s] * n_levels + level_index[int(v)] for s, v in zip(source_of, level_of, strict=True)],
        dtype=np.int64,
    )
    curves: dict[str, list[dict[str, Any]]] = {}
    result: dict[str, Any] = {
        "curves": curves,
        "difference": None,
        "n_clusters": len(np.unique(cluster_of)),
        "n_trials": int(len(cells)),
    }
    if len(cells) == 0:
        for source in source_order:
            curves[source] = [
                {"level": level, "n": 0, "n_correct": 0, "accuracy": None, "ci95": [None, None]}
                for level in level_order
            ]
        return result
    hits, trials = _cell_sums(cells, correct_of, cluster_of, n_cells)
    draws = _bootstrap_accuracies(hits, trials, n_boot, seed)
    total_hits, total_trials = hits.sum(axis=0), trials.sum(axis=0)
    for s, source in enumerate(source_order):
        rows = []
        for v, level in enumerate(level_order):
            cell = s * n_levels + v
            n = int(total_trials[cell])
            rows.append(
                {
                    "level": level,
                    "n": n,
                    "n_correct": int(total_hits[cell]),
                    "accuracy": float(total_hits[cell] / n) if n else None,
                    "ci95": _cell_interval(draws[:, cell], int(total_hits[cell]), n),
                }
            )
        curves[source] = rows
    if len(source_order) == 2:
        result["difference"] = _difference(source_order, level_order, total_hits, total_trials, draws)
    return result


def _difference(source_order, level_order, total_hits, total_trials, draws) -> dict:
    n_levels = len(level_order)
    with np.errstate(invalid="ignore", divide="ignore"):
        point = total_hits / total_trials
    first, second = slice(0, n_levels), slice(n_levels, 2 * n_levels)
    per_level_draws = draws[:, first] - draws[:, second]
    per_level_point = point[first] - point[second]
    per_level = []
    for v, level in enumerate(level_order):
        value = per_level_point[v]
        per_level.append(
            {
                "level": level,
                "difference": float(value) if np.isfinite(value) else None,
                "ci95": _interval(per_level_draws[:, v]) if np.isfinite(value) else [None, None],
            }
        )
    observed = np.isfinite(per_level_point)
    mean_point = float(per_level_point[observed].mean()) if observed.any() else None
    mean_draws = per_level_draws[:, observed].mean(axis=1) if observed.any() else np.array([])
    return {
        "of": f"{source_order[0]} - {source_order[1]}",
        "per_level": per_level,
        "mean_over_levels": {"difference": mean_point, "ci95": _interval(mean_draws)},
    }
