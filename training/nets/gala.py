"""The GALA module: global-and-local attention (SCIENCE.md section 3; Linsley et al. 2019). Pure torch."""

import torch
from torch import nn


class GALA(nn.Module):
    """A = squash(a * (g + l) + m * (g * l)); returns (A * X, attention map mean_c(A^2)).

    global g = W2 relu(W1 GAP(X)) (C -> C/r -> C); local l = conv1x1(relu(conv1x1(X))) (C -> C/r -> 1),
    with the authors' v2 extra 5 x 5 conv (C/r -> C/r, ReLU) between them when `local_5x5`.
    `use_local=False` leaves the global (squeeze-and-excitation) path alone: the SE baseline.
    """

    def __init__(self, channels, reduction=4, squash="sigmoid", local_5x5=False, use_local=True):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.global_path = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, channels),
        )
        self.use_local = use_local
        if use_local:
            layers = [nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True)]
            if local_5x5:
                layers += [nn.Conv2d(hidden, hidden, 5, padding=2), nn.ReLU(inplace=True)]
            layers += [nn.Conv2d(hidden, 1, 1)]
            self.local_path = nn.Sequential(*layers)
            self.add_gain = nn.Parameter(torch.ones(channels))  # a
            self.mul_gain = nn.Parameter(torch.ones(channels))  # m
        if squash not in ("sigmoid", "tanh"):
            raise ValueError(f"squash must be 'sigmoid' or 'tanh', not {squash!r}")
        self.squash = torch.sigmoid if squash == "sigmoid" else torch.tanh

    def forward(self, x):
        g = self.global_path(x)[:, :, None, None]
        if self.use_local:
            l = self.local_path(x)  # noqa: E741 (the paper's name)
            a = self.add_gain[None, :, None, None].to(g.dtype)
            m = self.mul_gain[None, :, None, None].to(g.dtype)
            # a * (g + l) + m * (g * l) = a g + (a + m g) l: one full-size tensor instead of five.
            attention = self.squash(torch.addcmul(a * g, a + m * g, l))
        else:
            attention = self.squash(g).expand_as(x)
        # SCIENCE.md section 4: the layer's attention map is the channel mean of A^2.
        attention_map = torch.linalg.vector_norm(attention, dim=1).square() / attention.shape[1]
        return attention * x, attention_map


class GatedBlock(nn.Module):
    """A residual block whose input is gated by an attention module (GALA or SE); returns
    (the block's output, the attention map)."""

    def __init__(self, attention, block):
        super().__init__()
        self.attention = attention
        self.block = block

    def forward(self, x):
        gated, attention_map = self.attention(x)
        return self.block(gated), attention_map
