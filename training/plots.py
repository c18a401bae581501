"""Training curves as a PNG (matplotlib, imported when a plot is drawn, never by a web process)."""

from pathlib import Path
from typing import Any

import numpy as np

LOSS_CURVES = (
    ("train_loss", "train loss"),
    ("train_ce", "train cross-entropy"),
    ("train_attention", "train attention term"),
)
SCORE_CURVES = (
    ("train_top1", "train top-1"),
    ("val_top1", "val top-1"),
    ("val_attention_rho", "val attention rho"),
    ("val_saliency_rho", "val saliency rho"),
)


def curves_png(history: list[dict[str, Any]], path: Path) -> Path:
    """Losses (left) and top-1 and alignment (right) per epoch of `history`, written to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    epochs = [record["epoch"] for record in history]
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=100)
    for key, label in LOSS_CURVES:
        left.plot(epochs, [record[key] for record in history], label=label)
    left.set_xlabel("epoch")
    left.legend(fontsize=8)
    for key, label in SCORE_CURVES:
        values = [record.get(key) for record in history]
        if any(value is not None for value in values):
            right.plot(epochs, [np.nan if value is None else value for value in values], label=label)
    right.set_xlabel("epoch")
    right.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
