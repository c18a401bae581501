"""Writing a trained classifier as the self-contained partner artifact the game loads (game.partner)."""

import json
from pathlib import Path

import torch

from game.partner import ARTIFACT_FORMAT, ARTIFACT_META, IMAGENET_MEAN, IMAGENET_STD

from .checkpoints import model_read
from .config import TrainConfig
from .trainer import net_for


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


class LogitsOnly(torch.nn.Module):
    """The partner artifact's program: logits alone."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)[0]


def partner_export_checkpoint(checkpoint, path, *, architecture, metrics=None):
    """The partner artifact of a trained model's checkpoint (ValueError when it is not one)."""
    state = model_read(checkpoint)
    net = net_for(TrainConfig(**state["config"]), state["num_classes"])
    net.load_state_dict(state["state_dict"])
    return partner_export(
        LogitsOnly(net.eval()),
        path,
        categories=[{"wnid": c["wnid"], "name": c["name"]} for c in state["categories"]],
        input_size=state["config"]["image_size"],
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        architecture=architecture,
        metrics=metrics,
    )
