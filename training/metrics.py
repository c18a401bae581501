"""Accuracy and human alignment (SCIENCE.md section 5): top-k, attention alignment, saliency alignment.
Pure torch and numpy (the rank correlation and area resize are annotations' pure map core)."""

import numpy as np
import torch
from torch.nn import functional as F

from annotations.maps import downsample_area, spearman_rho

ALIGNMENT_SIZE_PX = 64


def top_k_correct(logits, targets, k):
    k = min(k, logits.shape[1])
    return (logits.topk(k, dim=1).indices == targets[:, None]).any(dim=1)


def _map_at_64(the_map):
    return downsample_area(np.asarray(the_map, dtype=np.float64), ALIGNMENT_SIZE_PX)


def attention_alignment(attention_map, clickme_maps):
    """Per image: Spearman rho between a_l upsampled (bilinear) to 64 x 64 and the map downsampled (area) to 64 x 64."""
    up = F.interpolate(
        attention_map[:, None].float(), size=(ALIGNMENT_SIZE_PX,) * 2, mode="bilinear", align_corners=False
    )[:, 0]
    return [spearman_rho(up[i].detach().cpu().numpy(), _map_at_64(clickme_maps[i])) for i in range(len(up))]


def saliency_maps(model, images, targets):
    """max over RGB of |d logit_true / d image| (Fel et al. 2022), shape (N, H, W)."""
    images = images.clone().requires_grad_(True)
    logits, _maps = model(images)
    chosen = logits.gather(1, targets[:, None]).sum()
    (gradient,) = torch.autograd.grad(chosen, images)
    return gradient.abs().amax(dim=1)


def saliency_alignment(saliency, clickme_maps):
    """Per image: Spearman rho between the saliency and the map, both area-downsampled to 64 x 64."""
    return [
        spearman_rho(_map_at_64(saliency[i].detach().cpu().numpy()), _map_at_64(clickme_maps[i]))
        for i in range(len(saliency))
    ]


def normalised_alignment(rhos, human_ceiling):
    """The Harmonization score: mean rho divided by the human ceiling (mean split-half rho)."""
    values = [r for r in rhos if np.isfinite(r)]
    if not values or not human_ceiling:
        return None
    return float(np.mean(values) / human_ceiling)
