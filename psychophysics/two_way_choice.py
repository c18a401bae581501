"""How a network answers a two-way choice, numpy only.

A network gives probabilities over its own outputs (1,000 ImageNet classes, or the benchmark's
categories). The partner's `category_mapping` ties each output to one of the site's categories (by
wnid) or to none. For the choice "A or B":
- p(A) = sum of the probabilities of the outputs mapped to a category of A;
- p(B) = the same over B's categories, or, when B is "every other category", 1 - p(A) (every output
  not in A, mapped or not, counts for B: "animal / not animal" over ImageNet's 1,000 classes);
- the answer is A when p(A) > p(B), else B. `p_a` is p(A) / (p(A) + p(B)), the network's confidence.
"""

from collections.abc import Collection, Sequence

import numpy as np


class ChoiceMappingError(ValueError):
    """The network has no output for one side of the choice."""


def output_masks(
    category_mapping: Sequence[Sequence], categories_a: Collection[int], categories_b: Collection[int] | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Boolean masks over the outputs for A and B (None for B = every other category)."""
    ids = [entry[0] for entry in category_mapping]
    mask_a = np.array([i is not None and i in categories_a for i in ids], dtype=bool)
    if not mask_a.any():
        raise ChoiceMappingError("none of the network's outputs is a category of choice A")
    if categories_b is None:
        if mask_a.all():
            raise ChoiceMappingError("every output of the network is a category of choice A")
        return mask_a, None
    mask_b = np.array([i is not None and i in categories_b for i in ids], dtype=bool)
    if not mask_b.any():
        raise ChoiceMappingError("none of the network's outputs is a category of choice B")
    return mask_a, mask_b


def choice_a_probability(probabilities: np.ndarray, mask_a: np.ndarray, mask_b: np.ndarray | None) -> np.ndarray:
    """(N,) p(A) / (p(A) + p(B)) for (N, outputs) probabilities; above 0.5 means the answer is A."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    p_a = probabilities[:, mask_a].sum(axis=1)
    p_b = 1.0 - p_a if mask_b is None else probabilities[:, mask_b].sum(axis=1)
    total = p_a + p_b
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, p_a / total, 0.5)
    return np.clip(share, 0.0, 1.0)
