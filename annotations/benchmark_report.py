"""How well bottom-up saliency and ClickMe maps find the benchmark's diagnostic part (docs/SCIENCE.md
section 7): per-image ROC AUC against the ground-truth mask, and their means with bootstrap 95%
intervals. numpy only, no Django; `manage.py benchmark_report` feeds it."""

from dataclasses import dataclass

from .maps import bootstrap_mean_ci
from .saliency import roc_auc, spectral_residual_saliency

SALIENCY_AUC_TARGET = 0.65  # at most: bottom-up saliency must not find the part
CLICKME_AUC_TARGET = 0.85  # at least: the maps from play must


@dataclass(frozen=True)
class AucSummary:
    name: str
    values: tuple

    @property
    def mean_ci(self):
        return bootstrap_mean_ci(self.values)

    def line(self, target, at_most):
        mean, (low, high) = self.mean_ci
        if mean is None:
            return f"{self.name:<34} no images"
        verdict = "meets" if (mean <= target if at_most else mean >= target) else "MISSES"
        sign = "<=" if at_most else ">="
        return (
            f"{self.name:<34} AUC {mean:.3f} [{low:.3f}, {high:.3f}] over {len(self.values)} images "
            f"(min {min(self.values):.3f}); target {sign} {target}: {verdict}"
        )


def saliency_aucs(images_and_masks, mode="opponent"):
    """AUC of the spectral-residual saliency of each (image, mask) against its mask."""
    return AucSummary(
        f"bottom-up saliency ({mode})",
        tuple(roc_auc(spectral_residual_saliency(image, mode=mode), mask) for image, mask in images_and_masks),
    )


def map_aucs(maps_and_masks):
    """AUC of each ClickMe map against its image's mask."""
    return AucSummary("ClickMe maps", tuple(roc_auc(the_map, mask) for the_map, mask in maps_and_masks))
