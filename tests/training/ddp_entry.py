"""Run by test_distributed under torchrun: each rank trains the same tiny run and saves its weights."""

import sys

import numpy as np
import torch

from game.synthetic_benchmark import scene
from training.config import TrainConfig
from training.datasets import ClickMeDataset, Sample
from training.trainer import train

out = sys.argv[1]
rng = np.random.default_rng(0)
samples = [Sample(*(lambda im, m: (im, k % 2, m.astype(np.float32)))(*scene(rng, k % 2))) for k in range(8)]
config = TrainConfig(
    arch="gala_resnet_tiny",
    lambda_clickme=1.0,
    epochs=2,
    batch_size=2,
    image_size=32,
    seed=0,
    optimizer="sgd",
    lr=0.05,
    warmup_epochs=0,
)
import os  # noqa: E402

rank = int(os.environ["RANK"])
model, history = train(config, ClickMeDataset(samples, 32, augment=True), None, 2, log=lambda *a: None)
torch.save({"state": model.state_dict(), "epochs": len(history)}, f"{out}/rank{rank}.pt")
