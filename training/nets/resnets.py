"""ResNets with GALA (or SE) gating the inputs of chosen stages' blocks; every net returns
(logits, [attention maps]). torchvision's ResNet-18/50 and a narrow ResNet for CPU. Pure torch."""

import torch
from torch import nn
from torchvision.models import resnet18, resnet50
from torchvision.models.resnet import BasicBlock

from ..config import STAGES, architectures
from .gala import GALA, GatedBlock

__all__ = ["STAGES", "AttentionResNet", "BACKBONES", "TinyResNet", "architectures", "build_net"]


class TinyResNet(nn.Module):
    """A narrow ResNet of BasicBlocks for 64-128 px images on a CPU (torchvision's layout, other widths)."""

    def __init__(self, num_classes, widths=(16, 32, 64, 128), blocks=(1, 1, 1, 1)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity()
        in_planes = widths[0]
        for index, (width, n_blocks) in enumerate(zip(widths, blocks, strict=True)):
            stride = 1 if index == 0 else 2
            layers = []
            for b in range(n_blocks):
                downsample = None
                if b == 0 and (stride != 1 or in_planes != width):
                    downsample = nn.Sequential(
                        nn.Conv2d(in_planes, width, 1, stride=stride, bias=False), nn.BatchNorm2d(width)
                    )
                layers.append(BasicBlock(in_planes, width, stride if b == 0 else 1, downsample))
                in_planes = width
            setattr(self, STAGES[index], nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_planes, num_classes)


class AttentionResNet(nn.Module):
    """Wraps a torchvision-layout ResNet; GatedBlocks in `stages` expose their attention maps."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self._gated = [m for m in backbone.modules() if isinstance(m, GatedBlock)]

    def gated_blocks(self):
        return list(self._gated)

    def forward(self, x):
        b = self.backbone
        x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        attention_maps = []
        for stage in STAGES:
            for block in getattr(b, stage):
                if isinstance(block, GatedBlock):
                    x, attention_map = block(x)
                    attention_maps.append(attention_map)
                else:
                    x = block(x)
        logits = b.fc(torch.flatten(b.avgpool(x), 1))
        return logits, attention_maps


def _gate(backbone, stages, make_attention):
    for stage in stages:
        layer = getattr(backbone, stage)
        for index, block in enumerate(layer):
            channels = block.conv1.in_channels
            layer[index] = GatedBlock(make_attention(channels), block)
    return backbone


BACKBONES = {
    "resnet18": lambda n: resnet18(num_classes=n),
    "resnet50": lambda n: resnet50(num_classes=n),
    "resnet_tiny": lambda n: TinyResNet(n),
}


def build_net(
    arch,
    num_classes,
    stages=("layer3",),
    reduction=4,
    squash="sigmoid",
    local_5x5=False,
    global_relu=False,
    gain_init="ones",
):
    """`resnet18`, `gala_resnet50`, `se_resnet_tiny`, ...: a net returning (logits, attention maps).
    The GALA settings (local_5x5, global_relu, gain_init) are training/config.py's GALA_PRESETS;
    the defaults are the project's."""
    kind, _, base = arch.partition("_") if arch.startswith(("gala_", "se_")) else ("plain", "", arch)
    if base not in BACKBONES:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(architectures())}")
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stages {sorted(unknown)}; known: {STAGES}")
    backbone = BACKBONES[base](num_classes)
    if kind != "plain":
        _gate(
            backbone,
            stages,
            lambda c: GALA(
                c,
                reduction,
                squash,
                local_5x5,
                use_local=(kind == "gala"),
                global_relu=global_relu,
                gain_init=gain_init,
            ),
        )
    return AttentionResNet(backbone)
