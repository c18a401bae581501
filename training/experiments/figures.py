"""The experiment's figures (matplotlib, Agg): per-image attention rho of two arms, and example
attention maps beside the ClickMe maps."""

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def attention_rho_scatter(rho_x, rho_y, label_x, label_y, path):
    """Each test image's attention rho (mean over seeds) under two arms, with the diagonal."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(4.6, 4.4), dpi=110)
    x, y = np.asarray(rho_x), np.asarray(rho_y)
    keep = np.isfinite(x) & np.isfinite(y)
    low = float(min(x[keep].min(), y[keep].min(), 0.0)) - 0.05
    high = float(max(x[keep].max(), y[keep].max())) + 0.05
    axis.plot([low, high], [low, high], color="0.6", lw=1, zorder=1)
    above = y[keep] > x[keep]
    axis.scatter(x[keep][above], y[keep][above], s=12, color="tab:blue", label=f"higher with ClickMe ({above.sum()})")
    axis.scatter(x[keep][~above], y[keep][~above], s=12, color="tab:red", label=f"not higher ({(~above).sum()})")
    axis.set_xlim(low, high)
    axis.set_ylim(low, high)
    axis.set_xlabel(f"attention rho, {label_x}")
    axis.set_ylabel(f"attention rho, {label_y}")
    axis.set_title("per test image (mean over seeds)", fontsize=9)
    axis.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def attention_examples(images, masks, clickme_maps, attention_columns, path):
    """Rows: test images; columns: the image with its diagnostic part outlined, the ClickMe map,
    then each arm's attention map (64 x 64, mean over GALA layers) from `attention_columns`
    ({title: [maps]})."""
    plt = _pyplot()
    n = len(images)
    columns = 2 + len(attention_columns)
    figure, axes = plt.subplots(n, columns, figsize=(2.0 * columns, 2.0 * n), dpi=90, squeeze=False)
    for row in range(n):
        axes[row, 0].imshow(images[row])
        axes[row, 0].contour(masks[row], levels=[0.5], colors="cyan", linewidths=0.8)
        axes[row, 1].imshow(clickme_maps[row], cmap="magma", vmin=0)
        for k, (_title, maps_) in enumerate(attention_columns.items()):
            axes[row, 2 + k].imshow(maps_[row], cmap="magma")
    titles = ["image (mask outlined)", "ClickMe map (played)", *attention_columns]
    for k, title in enumerate(titles):
        axes[0, k].set_title(title, fontsize=8)
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
