"""How a network's outputs become a two-way answer (pure core)."""

import numpy as np
import pytest

from psychophysics import two_way_choice

MAPPING = [[1, "cat"], [2, "dog"], [None, "car"], [3, "truck"]]


def test_explicit_choices_compare_the_summed_probabilities_of_their_categories():
    mask_a, mask_b = two_way_choice.output_masks(MAPPING, {1, 2}, {3})
    p = np.array([[0.2, 0.1, 0.5, 0.2], [0.05, 0.05, 0.1, 0.8]])
    share = two_way_choice.choice_a_probability(p, mask_a, mask_b)
    assert share == pytest.approx([0.3 / 0.5, 0.1 / 0.9])


def test_every_other_category_counts_every_output_outside_a_including_unmapped_ones():
    mask_a, mask_b = two_way_choice.output_masks(MAPPING, {1, 2}, None)
    assert mask_b is None
    p = np.array([[0.2, 0.1, 0.5, 0.2]])
    assert two_way_choice.choice_a_probability(p, mask_a, mask_b) == pytest.approx([0.3])


def test_a_network_without_outputs_for_a_choice_is_refused():
    with pytest.raises(two_way_choice.ChoiceMappingError, match="choice A"):
        two_way_choice.output_masks(MAPPING, {9}, None)
    with pytest.raises(two_way_choice.ChoiceMappingError, match="choice B"):
        two_way_choice.output_masks(MAPPING, {1}, {9})
    with pytest.raises(two_way_choice.ChoiceMappingError, match="every output"):
        two_way_choice.output_masks([[1, "a"], [2, "b"]], {1, 2}, None)
