"""The rapid-categorisation design (docs/SCIENCE.md section 6), numpy only: the conditions, the Latin square
that balances them across participants, each participant's trial plan and the checks of a config.

A condition is one (feature source, reveal level) cell. Participants fall into C groups, C the number
of conditions; with the images sorted by answer (choice A first), the j-th image is shown to group g
in condition (j + g) mod C. So every participant sees each image at most once and about as many
trials of every condition (and of both answers within it), and over C participants every image is
seen in every condition exactly once.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SOURCES = ("clickme", "saliency")
DEFAULT_LEVELS = (1, 3, 5, 10, 20, 40, 60, 80, 100)
PRACTICE_LEVEL_COUNT = 3  # practice uses the easiest (largest) levels
KEY_RE = re.compile(r"^[a-z0-9]$")


class DesignError(ValueError):
    """A configuration that cannot make a balanced experiment; the message names the field."""


@dataclass(frozen=True)
class Condition:
    source: str
    level_pct: int


@dataclass(frozen=True)
class PlannedTrial:
    image_position: int  # index into the canonical image order the plan was given
    condition: int  # index into conditions()


def conditions(sources: Sequence[str], levels: Sequence[int]) -> list[Condition]:
    """Every (source, level) cell, source-major, levels ascending."""
    return [Condition(source, int(level)) for source in sources for level in sorted(levels)]


def validate_sources(sources: object) -> list[str]:
    if not isinstance(sources, list) or not sources:
        raise DesignError(f"feature_sources: a non-empty list of {list(SOURCES)}")
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise DesignError(f"feature_sources: unknown source {unknown[0]!r}; choose from {list(SOURCES)}")
    if len(set(sources)) != len(sources):
        raise DesignError("feature_sources: a source is listed twice")
    return list(sources)


def validate_levels(levels: object) -> list[int]:
    if not isinstance(levels, list) or not levels:
        raise DesignError("reveal_levels: a non-empty list of percentages")
    for level in levels:
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 100:
            raise DesignError(f"reveal_levels: {level!r} is not a whole percentage from 1 to 100")
    if len(set(levels)) != len(levels):
        raise DesignError("reveal_levels: a level is listed twice")
    return sorted(levels)


def validate_keys(key_a: str, key_b: str) -> tuple[str, str]:
    for name, key in (("choice_a_key", key_a), ("choice_b_key", key_b)):
        if not isinstance(key, str) or not KEY_RE.match(key):
            raise DesignError(f"{name}: one lower-case letter or digit")
    if key_a == key_b:
        raise DesignError("choice_b_key: must differ from choice_a_key")
    return key_a, key_b


def practice_levels(levels: Sequence[int]) -> list[int]:
    return sorted(levels, reverse=True)[:PRACTICE_LEVEL_COUNT]


def condition_of_image(positions_in_class: int, group: int, n_conditions: int) -> int:
    # The Latin square: row `group`, column `position`.
    return (positions_in_class + group) % n_conditions


def image_conditions(answers: Sequence[int] | np.ndarray, group: int, n_conditions: int) -> np.ndarray:
    """The condition of every image (canonical order) for participants of `group`: the Latin square
    over the images sorted by answer (A first), so each answer is spread evenly over the conditions."""
    order = np.argsort(np.asarray(answers), kind="stable")
    out = np.empty(len(order), dtype=np.int64)
    out[order] = [condition_of_image(j, group, n_conditions) for j in range(len(order))]
    return out


def _quotas(n_trials: int, capacity: np.ndarray, rotation: int) -> np.ndarray:
    """Trials per condition: as equal as the images allow, the remainder rotated across participants."""
    n_conditions = len(capacity)
    base, extra = divmod(n_trials, n_conditions)
    quota = np.full(n_conditions, base)
    for k in range(extra):
        quota[(rotation + k) % n_conditions] += 1
    quota = np.minimum(quota, capacity)
    shortfall = n_trials - int(quota.sum())
    order = [(rotation + k) % n_conditions for k in range(n_conditions)]
    while shortfall > 0:  # conditions with too few images hand their trials to the others
        moved = False
        for c in sorted(order, key=lambda c: quota[c]):
            if quota[c] < capacity[c] and shortfall > 0:
                quota[c] += 1
                shortfall -= 1
                moved = True
        if not moved:
            raise DesignError(f"n_trials: {n_trials} trials need more images than the {int(capacity.sum())} given")
    return quota


def participant_plan(
    *, answers: Sequence[int], n_conditions: int, group: int, replicate: int, n_trials: int, seed: int
) -> list[PlannedTrial]:
    """The main block of one participant: distinct images, conditions by the Latin square of `group`,
    balanced over conditions and, within each, over the two answers; `replicate` (how many
    participants of the group came before) rotates which images fill a condition when there are more
    images than trials; the order is shuffled by `seed`."""
    answer_of = np.asarray(answers, dtype=np.int64)
    if n_trials > len(answer_of):
        raise DesignError(f"n_trials: {n_trials} trials but only {len(answer_of)} images")
    assigned = image_conditions(answer_of, group, n_conditions)
    sides = [[list(np.flatnonzero((assigned == c) & (answer_of == a))) for a in (0, 1)] for c in range(n_conditions)]
    capacity = np.array([len(a) + len(b) for a, b in sides])
    quota = _quotas(n_trials, capacity, rotation=group + replicate)
    chosen = []
    for c, q in enumerate(quota.tolist()):
        if q == 0:
            continue
        by_answer = sides[c]
        # which answer leads alternates over conditions and participants, so odd quotas favour neither
        if (c + group + replicate) % 2:
            by_answer = by_answer[::-1]
        # replicates of a group start further along each answer's images, so they see other images
        shift = replicate * ((q + 1) // 2)
        by_answer = [side[shift % len(side) :] + side[: shift % len(side)] if side else side for side in by_answer]
        interleaved = []  # alternating answers: any prefix is balanced between them
        for k in range(max(len(by_answer[0]), len(by_answer[1]))):
            interleaved += [side[k] for side in by_answer if k < len(side)]
        chosen += [PlannedTrial(int(position), c) for position in interleaved[:q]]
    order = np.random.default_rng(seed).permutation(len(chosen))
    return [chosen[i] for i in order]


def practice_plan(*, n_images: int, n_practice: int, sources: Sequence[str], levels: Sequence[int], seed: int):
    """Practice trials as (image position, Condition): distinct images at the easiest levels."""
    if n_practice > n_images:
        raise DesignError(f"n_practice: {n_practice} practice trials but only {n_images} practice images")
    easy = practice_levels(levels)
    rng = np.random.default_rng(seed)
    positions = rng.permutation(n_images)[:n_practice]
    return [
        (int(position), Condition(sources[k % len(sources)], easy[k % len(easy)]))
        for k, position in enumerate(positions)
    ]


def least_filled_group(counts: Sequence[tuple[int, int]]) -> int:
    """The next participant's group: fewest completed participants, then fewest started, then lowest."""
    return min(range(len(counts)), key=lambda g: (counts[g][0], counts[g][1], g))
