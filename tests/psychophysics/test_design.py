"""The balanced design (pure core): Latin square over conditions, no repeats, answers balanced."""

from collections import Counter

import numpy as np
import pytest

from psychophysics import design

SOURCES = ["clickme", "saliency"]
LEVELS = [1, 3, 5, 10, 20, 40, 60, 80, 100]
N_CONDITIONS = len(SOURCES) * len(LEVELS)


def answers_of(n_a, n_b):
    return [0] * n_a + [1] * n_b


def test_conditions_are_every_source_and_level_once():
    cells = design.conditions(SOURCES, [40, 1, 100])
    assert [(c.source, c.level_pct) for c in cells] == [
        ("clickme", 1), ("clickme", 40), ("clickme", 100), ("saliency", 1), ("saliency", 40), ("saliency", 100)
    ]  # fmt: skip


def test_over_all_groups_every_image_is_seen_once_in_every_condition():
    answers = answers_of(36, 36)
    seen = Counter()
    for group in range(N_CONDITIONS):
        plan = design.participant_plan(
            answers=answers, n_conditions=N_CONDITIONS, group=group, replicate=0, n_trials=72, seed=group
        )
        seen.update((t.image_position, t.condition) for t in plan)
    assert set(seen.values()) == {1}
    assert len(seen) == 72 * N_CONDITIONS


@pytest.mark.parametrize("n_a, n_b, n_trials", [(36, 36, 72), (50, 40, 90), (100, 80, 54), (20, 25, 45)])
def test_a_participant_sees_distinct_images_and_balanced_conditions_and_answers(n_a, n_b, n_trials):
    answers = answers_of(n_a, n_b)
    for group in (0, 5, 17):
        for replicate in (0, 1, 3):
            plan = design.participant_plan(
                answers=answers,
                n_conditions=N_CONDITIONS,
                group=group,
                replicate=replicate,
                n_trials=n_trials,
                seed=11,
            )
            positions = [t.image_position for t in plan]
            assert len(plan) == n_trials
            assert len(set(positions)) == n_trials  # no image twice
            per_condition = Counter(t.condition for t in plan)
            assert max(per_condition.values()) - min(per_condition.get(c, 0) for c in range(N_CONDITIONS)) <= 1
            per_answer = Counter(answers[p] for p in positions)
            assert abs(per_answer[0] - per_answer[1]) <= max(2, abs(n_a - n_b) * n_trials // (n_a + n_b) + 2)


def test_within_a_condition_the_two_answers_are_balanced():
    answers = answers_of(72, 72)
    plan = design.participant_plan(
        answers=answers, n_conditions=N_CONDITIONS, group=3, replicate=0, n_trials=144, seed=0
    )
    for condition in range(N_CONDITIONS):
        shown = [answers[t.image_position] for t in plan if t.condition == condition]
        assert shown.count(0) == shown.count(1) == 4


def test_replicates_of_a_group_cover_different_images_when_there_are_more_images_than_trials():
    answers = answers_of(90, 90)
    first = design.participant_plan(
        answers=answers, n_conditions=N_CONDITIONS, group=0, replicate=0, n_trials=36, seed=0
    )
    second = design.participant_plan(
        answers=answers, n_conditions=N_CONDITIONS, group=0, replicate=1, n_trials=36, seed=0
    )
    assert not {t.image_position for t in first} & {t.image_position for t in second}


def test_the_order_is_shuffled_by_the_seed_and_reproducible():
    answers = answers_of(36, 36)
    kwargs = dict(answers=answers, n_conditions=N_CONDITIONS, group=2, replicate=0, n_trials=72)
    assert design.participant_plan(**kwargs, seed=1) == design.participant_plan(**kwargs, seed=1)
    assert design.participant_plan(**kwargs, seed=1) != design.participant_plan(**kwargs, seed=2)
    conditions = [t.condition for t in design.participant_plan(**kwargs, seed=1)]
    assert conditions != sorted(conditions)


def test_more_trials_than_images_is_refused():
    with pytest.raises(design.DesignError, match="n_trials"):
        design.participant_plan(answers=answers_of(5, 5), n_conditions=4, group=0, replicate=0, n_trials=11, seed=0)


def test_the_least_filled_group_is_chosen_completed_first_then_started():
    assert design.least_filled_group([(1, 1), (0, 3), (0, 2), (1, 0)]) == 2
    assert design.least_filled_group([(0, 0), (0, 0)]) == 0
    assert design.least_filled_group([(2, 2), (1, 5)]) == 1


def test_practice_uses_distinct_images_at_the_easiest_levels():
    plan = design.practice_plan(n_images=10, n_practice=6, sources=SOURCES, levels=LEVELS, seed=0)
    assert len({position for position, _ in plan}) == 6
    assert {cell.level_pct for _, cell in plan} <= {100, 80, 60}
    assert {cell.source for _, cell in plan} == set(SOURCES)
    with pytest.raises(design.DesignError, match="n_practice"):
        design.practice_plan(n_images=3, n_practice=4, sources=SOURCES, levels=LEVELS, seed=0)


@pytest.mark.parametrize(
    "levels, message",
    [
        ([], "non-empty"),
        ([0], "from 1 to 100"),
        ([101], "from 1 to 100"),
        ([5, 5], "twice"),
        (["10"], "whole"),
        ([True], "whole"),
    ],
)
def test_bad_levels_are_refused_naming_the_field(levels, message):
    with pytest.raises(design.DesignError, match=f"reveal_levels: .*{message}"):
        design.validate_levels(levels)


@pytest.mark.parametrize("sources", [[], ["random"], ["clickme", "clickme"], "clickme"])
def test_bad_sources_are_refused(sources):
    with pytest.raises(design.DesignError, match="feature_sources"):
        design.validate_sources(sources)


@pytest.mark.parametrize("keys", [("f", "f"), ("F", "j"), ("", "j"), ("f", "jj"), ("f", " ")])
def test_bad_keys_are_refused(keys):
    with pytest.raises(design.DesignError, match="key"):
        design.validate_keys(*keys)


def test_image_conditions_follow_the_latin_square_within_each_answer():
    answers = np.array([0, 1, 0, 1, 0, 1])
    assert design.image_conditions(answers, group=1, n_conditions=3).tolist() == [1, 1, 2, 2, 0, 0]
