"""Training the small demo partner on the synthetic benchmark, on what players reveal. Pure torch/numpy.

Each training sample is what the partner would see in a round: the full 224 px crop, or the crop
with only the squares of a simulated player's first k clicks revealed over darkened noise.
"""

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from game.reveal import partner_view
from game.simulated_players import trajectory

from .nets.small_cnn import SmallCNN

MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)


@dataclass
class DemoConfig:
    input_size: int = 112
    epochs: int = 8
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 5e-4
    full_view_fraction: float = 0.3
    careless_fraction: float = 0.2
    crop_px: int = 224
    bubble_px: int = 21
    noise_std: float = 0.4
    seed: int = 0
    width: int = 32
    time_budget_s: float = 240.0


def reveal_sample(image, mask, rng, config, n_clicks=None, careless=None):
    """What the partner sees of `image` after a simulated player's first n_clicks (None: random)."""
    if careless is None:
        careless = rng.random() < config.careless_fraction
    if n_clicks is None:
        n_clicks = int(rng.integers(8, 141))
    clicks = trajectory(mask, rng, careless=careless, n_clicks=n_clicks)
    seed = int(rng.integers(2**31))
    return partner_view(image, clicks[:, :2], seed, config.crop_px, config.bubble_px, config.noise_std)


def full_view(image, config):
    top = (image.shape[0] - config.crop_px) // 2
    left = (image.shape[1] - config.crop_px) // 2
    return image[top : top + config.crop_px, left : left + config.crop_px]


def to_batch(views, input_size):
    batch = torch.from_numpy(np.stack(views)).permute(0, 3, 1, 2).float()
    batch = nn.functional.interpolate(batch, size=(input_size, input_size), mode="bilinear", antialias=True)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (batch - mean) / std


def _views_for(indices, images, masks, rng, config):
    views = []
    for i in indices:
        if rng.random() < config.full_view_fraction:
            view = full_view(images[i], config)
        else:
            view = reveal_sample(images[i], masks[i], rng, config)
        if rng.random() < 0.5:
            view = view[:, ::-1]
        views.append(np.ascontiguousarray(view))
    return views


def train_demo_partner(images, masks, labels, num_classes, config=None, log=print):
    """Train a SmallCNN on (N, 256, 256, 3) float images in [0, 1], their masks and labels."""
    config = config or DemoConfig()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = SmallCNN(num_classes, width=config.width)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = int(np.ceil(len(images) / config.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch, pct_start=0.15
    )
    labels_t = torch.as_tensor(labels, dtype=torch.long)
    started = time.monotonic()
    for epoch in range(config.epochs):
        model.train()
        order = rng.permutation(len(images))
        total_loss, correct = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            indices = order[start : start + config.batch_size]
            batch = to_batch(_views_for(indices, images, masks, rng, config), config.input_size)
            logits = model(batch)
            loss = nn.functional.cross_entropy(logits, labels_t[indices], label_smoothing=0.05)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += float(loss.detach()) * len(indices)
            correct += int((logits.argmax(1) == labels_t[indices]).sum())
        elapsed = time.monotonic() - started
        log(
            f"epoch {epoch + 1}/{config.epochs}: loss {total_loss / len(images):.3f}, "
            f"train accuracy {correct / len(images):.3f}, {elapsed:.0f} s"
        )
        if elapsed > config.time_budget_s:
            log(f"stopping early: the time budget of {config.time_budget_s:.0f} s is spent")
            break
    return model.eval()


@torch.inference_mode()
def evaluate(model, images, masks, labels, config, n_clicks=None, seed=1):
    """Top-1 and top-5 accuracy on full views (n_clicks None) or after n_clicks of a careful player."""
    rng = np.random.default_rng(seed)
    top1 = top5 = 0
    for start in range(0, len(images), 64):
        chunk = range(start, min(start + 64, len(images)))
        if n_clicks is None:
            views = [full_view(images[i], config) for i in chunk]
        else:
            views = [reveal_sample(images[i], masks[i], rng, config, n_clicks=n_clicks, careless=False) for i in chunk]
        logits = model(to_batch(views, config.input_size))
        target = torch.as_tensor([labels[i] for i in chunk])
        top = logits.topk(min(5, logits.shape[1]), dim=1).indices
        top1 += int((top[:, 0] == target).sum())
        top5 += int((top == target[:, None]).any(dim=1).sum())
    return {"top1": top1 / len(images), "top5": top5 / len(images)}
