"""A small fully-convolutional classifier with global max pooling: the demo partner's network. Pure torch.

Every output position scores every category from a local window (receptive field 24 px at the input
size, 48 px of the 224 px view), and the image's score is the best position's: it is
translation-invariant and learns from local evidence, so a small part decides the class wherever it
is, and crops around the part train the same weights that read a whole view.

Its first layer starts as oriented bar detectors (zero-mean, on luminance, four orientations, dark
and light bars: a generic V1-like start, like a Gabor initialisation, knowing nothing of the
categories) and is trained with the rest.

With a code book (the synthetic benchmark's categories are codes of parts: one of four bar
orientations in each of four slots), the last layer scores parts, not categories: 16 part maps
(slot x orientation), and a category's score at a position is the sum of its four parts' scores
there (a fixed 0/1 matrix). The same 1 x 1 layer with its weights tied through the code book, so a
part learned on one category serves the 15 others that share it: 64 categories are learned about as
fast as 16. Without one (real categories), the last layer scores the categories directly.
"""

import math
from typing import cast

import torch
from torch import nn


def _block(c_in, c_out, kernel=3, stride=1):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def oriented_bars(n_orientations=4, kernel=7, width_px=1.0, length_px=2.5):
    """(2 * n_orientations, 3, kernel, kernel) zero-mean filters: dark bars, then light bars."""
    c = (kernel - 1) / 2
    yy, xx = torch.meshgrid(torch.arange(kernel) - c, torch.arange(kernel) - c, indexing="ij")
    filters = []
    for k in range(n_orientations):
        angle = math.pi * k / n_orientations
        along = xx * math.cos(angle) + yy * math.sin(angle)
        across = -xx * math.sin(angle) + yy * math.cos(angle)
        bar = torch.exp(-(across**2) / (2 * width_px**2) - along**2 / (2 * length_px**2))
        bar = bar - bar.mean()
        filters.append(-bar / bar.norm())
    dark = torch.stack(filters)
    bank = torch.cat([dark, -dark])[:, None].repeat(1, 3, 1, 1) / 3
    return bank


def code_book_matrix(codes, n_slots=4, n_values=4):
    """(len(codes), n_slots * n_values) 0/1 float: row c marks the part (slot, value) of each slot."""
    matrix = torch.zeros(len(codes), n_slots * n_values)
    for row, code in enumerate(codes):
        if len(code) != n_slots or not all(0 <= value < n_values for value in code):
            raise ValueError(f"code {code!r} is not {n_slots} values in 0..{n_values - 1}")
        for slot, value in enumerate(code):
            matrix[row, slot * n_values + value] = 1.0
    return matrix


class LocalFCN(nn.Module):
    def __init__(self, num_classes, width=16, codes=None):
        super().__init__()
        w = width
        first = nn.Conv2d(3, 8, 7, padding=3, bias=False)
        with torch.no_grad():
            first.weight.copy_(oriented_bars())
        self.features = nn.Sequential(
            first,
            nn.BatchNorm2d(8),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            _block(8, 2 * w),
            _block(2 * w, 4 * w, stride=2),
            _block(4 * w, 4 * w),
        )
        if codes is None:
            self.score = nn.Conv2d(4 * w, num_classes, 1)
        else:
            if len(codes) != num_classes:
                raise ValueError(f"{len(codes)} codes for {num_classes} categories")
            book = code_book_matrix(codes)
            self.parts = nn.Conv2d(4 * w, book.shape[1], 1)
            self.register_buffer("code_book", book[:, :, None, None])
            self.category_bias = nn.Parameter(torch.zeros(num_classes))

    def score_map(self, x):
        """(N, num_classes, H / 4, W / 4) local class scores."""
        features = self.features(x)
        if not hasattr(self, "code_book"):
            return self.score(features)
        book = cast(torch.Tensor, self.code_book)
        return nn.functional.conv2d(self.parts(features), book, self.category_bias)

    def forward(self, x):
        return self.score_map(x).amax(dim=(2, 3))
