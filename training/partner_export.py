"""Writing a trained classifier as the self-contained partner artifact the game loads (game.partner)."""

import json
from pathlib import Path

import torch

from game.partner import ARTIFACT_FORMAT, ARTIFACT_META


def partner_export(model, path, *, categories, input_size, mean, std, architecture, metrics=None):
    """Save `model` with torch.export (dynamic batch) and its metadata; `categories` is
    [{"wnid", "name"}] in output order. Returns the path."""
    model = model.eval().cpu()
    example = torch.zeros(2, 3, input_size, input_size)
    batch = torch.export.Dim("batch", min=1, max=4096)
    program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
    meta = {
        "format": ARTIFACT_FORMAT,
        "architecture": architecture,
        "categories": categories,
        "input_size": input_size,
        "mean": list(mean),
        "std": list(std),
        "metrics": metrics or {},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.export.save(program, str(path), extra_files={ARTIFACT_META: json.dumps(meta)})
    return path
