"""The ClickMe loss (docs/SCIENCE.md section 4): cross-entropy plus lambda times the attention-map distance. Pure torch."""

import torch
from torch.nn import functional as F

EPS = 1e-8


def _unit(x):
    flat = x.flatten(1)
    return flat / flat.norm(dim=1, keepdim=True).clamp_min(EPS)


def attention_distance(attention_map, clickme_maps, has_map, resized=None):
    """d_l = || n(a_l) - n(c_l) ||_2^2 averaged over the images that have a map; `attention_map` is
    (N, H_l, W_l), `clickme_maps` (N, H, W), resized bilinearly to H_l x W_l. 0 when none has a map.
    Images are weighted by has_map rather than selected, so a GPU never waits on the host here."""
    size = tuple(attention_map.shape[-2:])
    c = None if resized is None else resized.get(size)
    if c is None:
        c = F.interpolate(clickme_maps[:, None].float(), size=size, mode="bilinear", align_corners=False)[:, 0]
        if resized is not None:
            resized[size] = c
    weight = has_map.float()
    per_image = (_unit(attention_map.float()) - _unit(c)).pow(2).sum(dim=1)
    return (per_image * weight).sum() / weight.sum().clamp_min(1.0)


def clickme_loss(logits, targets, attention_maps, clickme_maps, has_map, lambda_clickme, label_smoothing=0.0):
    """Loss = CE + lambda * mean over GALA layers of d_l. Returns (loss, cross-entropy, attention term)."""
    cross_entropy = F.cross_entropy(logits.float(), targets, label_smoothing=label_smoothing)
    if not attention_maps:
        attention = cross_entropy * 0.0
    else:
        resized: dict[tuple[int, ...], torch.Tensor] = {}  # layers of the same size share one resize of the maps
        attention = torch.stack([attention_distance(a, clickme_maps, has_map, resized) for a in attention_maps]).mean()
    return cross_entropy + lambda_clickme * attention, cross_entropy, attention
