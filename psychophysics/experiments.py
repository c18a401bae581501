"""An experiment's configuration: the checks that make it a balanced design, and opening and closing it."""

from collections.abc import Iterable

from django.db import transaction

from clickme_site.errors import Conflict, ServiceError
from game.models import Image

from . import design
from .models import Experiment
from .stimulus_inputs import stimuli_fingerprint


def answer_index(category_id: int, categories_a: set[int], categories_b: set[int]) -> int | None:
    """0 for choice A, 1 for choice B, None when the category belongs to neither (B empty: every other)."""
    if category_id in categories_a:
        return 0
    if not categories_b or category_id in categories_b:
        return 1
    return None


def design_check(
    *,
    experiment: Experiment,
    categories_a: set[int] | None = None,
    categories_b: set[int] | None = None,
    images: Iterable[Image] | None = None,
    practice_images: Iterable[Image] | None = None,
) -> None:
    """Raise DesignError (naming the field) unless `experiment` makes a valid two-way design. The
    many-to-many values may be passed in (an admin form checks them before they are saved)."""
    design.validate_sources(experiment.feature_sources)
    design.validate_levels(experiment.reveal_levels)
    design.validate_keys(experiment.choice_a_key, experiment.choice_b_key)
    if categories_a is None:
        categories_a = set(experiment.choice_a_categories.values_list("id", flat=True))
    if categories_b is None:
        categories_b = set(experiment.choice_b_categories.values_list("id", flat=True))
    images = list(experiment.images.all() if images is None else images)
    practice_images = list(experiment.practice_images.all() if practice_images is None else practice_images)
    if not categories_a:
        raise design.DesignError("choice_a_categories: choose at least one category")
    if categories_a & categories_b:
        raise design.DesignError("choice_b_categories: a category cannot be in both choices")
    if not images:
        raise design.DesignError("images: choose the images of the main trials")
    for field, chosen in (("images", images), ("practice_images", practice_images)):
        for image in chosen:
            if answer_index(image.category_id, categories_a, categories_b) is None:
                raise design.DesignError(f"{field}: image {image.pk} is of a category in neither choice")
    answers = {answer_index(image.category_id, categories_a, categories_b) for image in images}
    if answers != {0, 1}:
        raise design.DesignError("images: the main images must include both choices")
    if experiment.n_trials > len(images):
        raise design.DesignError(f"n_trials: {experiment.n_trials} trials but only {len(images)} images (no repeats)")
    if {image.pk for image in images} & {image.pk for image in practice_images}:
        raise design.DesignError("practice_images: a practice image is also a main image")
    if experiment.n_practice > len(practice_images):
        raise design.DesignError(
            f"n_practice: {experiment.n_practice} practice trials but only {len(practice_images)} practice images"
        )
    if not experiment.completion_code.strip():
        raise design.DesignError("completion_code: participants need a code to show at the end")


def design_frozen(experiment: Experiment) -> bool:
    """Once anyone has joined, the design and the stimuli stay as they were."""
    return experiment.pk is not None and experiment.participants.exists()


@transaction.atomic
def experiment_open(*, experiment: Experiment) -> Experiment:
    """Let participants in: the design must be valid and the stimuli built from the current inputs.
    Locks the experiment row."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    try:
        design_check(experiment=experiment)
    except design.DesignError as error:
        raise ServiceError(str(error), "invalid_design") from error
    if experiment.stimuli_state != Experiment.StimuliState.READY:
        raise Conflict(f"the stimuli are {experiment.stimuli_state}: generate them first", "stimuli_not_ready")
    if not design_frozen(experiment) and experiment.stimuli_fingerprint != stimuli_fingerprint(experiment):
        raise Conflict("the stimuli were built from other images, maps or levels: generate them again", "stimuli_stale")
    experiment.status = Experiment.Status.OPEN
    experiment.save(update_fields=["status"])
    return experiment


@transaction.atomic
def experiment_close(*, experiment: Experiment) -> Experiment:
    """No more joins or answers; what is stored stays."""
    Experiment.objects.filter(pk=experiment.pk).update(status=Experiment.Status.CLOSED)
    experiment.status = Experiment.Status.CLOSED
    return experiment
