"""A small CNN that runs on a laptop CPU: the demo partner of the game. Pure torch."""

import torch
from torch import nn


def _block(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    """Four conv stages, then average- and max-pooled features (a small part can decide the class)."""

    def __init__(self, num_classes, width=32):
        super().__init__()
        self.features = nn.Sequential(
            _block(3, width),
            nn.MaxPool2d(2),
            _block(width, 2 * width),
            nn.MaxPool2d(2),
            _block(2 * width, 4 * width),
            nn.MaxPool2d(2),
            _block(4 * width, 4 * width),
            _block(4 * width, 4 * width),
        )
        self.classifier = nn.Linear(8 * width, num_classes)

    def forward(self, x):
        f = self.features(x)
        pooled = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)
        return self.classifier(pooled)
