"""Model observers: a registered partner network shown every main stimulus of an experiment, its
two-way answer taken as two_way_choice.py says. torch is loaded only inside `observer_run` (a worker)."""

import logging

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image as PILImage

from clickme_site.errors import Conflict, ServiceError
from game.models import Partner
from game.reveal import centre_crop

from . import queueing, two_way_choice
from .files import stored_path
from .models import Experiment, ObserverResponse, ObserverRun

log = logging.getLogger(__name__)
BATCH = 32


def _choice_masks(experiment: Experiment, partner: Partner):
    categories_a = set(experiment.choice_a_categories.values_list("id", flat=True))
    categories_b = set(experiment.choice_b_categories.values_list("id", flat=True)) or None
    return two_way_choice.output_masks(partner.category_mapping, categories_a, categories_b)


def observer_request(*, experiment: Experiment, partner: Partner, user=None, enqueue: bool = True) -> ObserverRun:
    """Record a model observer and queue it after commit (`enqueue=False`: the caller runs it);
    refused when the stimuli are not built or the network has no output for one of the choices."""
    if experiment.stimuli_state != Experiment.StimuliState.READY:
        raise Conflict(f"the stimuli are {experiment.stimuli_state}: generate them first", "stimuli_not_ready")
    try:
        _choice_masks(experiment, partner)
    except two_way_choice.ChoiceMappingError as error:
        raise ServiceError(f"partner: {error}", "partner_unfit") from error
    with transaction.atomic():
        run = ObserverRun.objects.create(
            experiment=experiment, partner=partner, partner_name=partner.name, requested_by=user
        )
        if enqueue:
            queueing.observer_run_queue(run_id=run.pk)
    return run


def _pixels(path: str) -> np.ndarray:
    with PILImage.open(stored_path(path)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32) / np.float32(255.0)


def observer_run(*, run_id: int) -> ObserverRun | None:
    """Run the network on every main stimulus and store one answer per stimulus. Safe to deliver
    twice: a run that is done, or running on another worker, is left alone."""
    claimed = ObserverRun.objects.filter(pk=run_id, status=ObserverRun.Status.QUEUED).update(
        status=ObserverRun.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return ObserverRun.objects.filter(pk=run_id).first()
    run = ObserverRun.objects.select_related("experiment", "partner").get(pk=run_id)
    experiment = run.experiment
    try:
        if run.partner is None:
            raise ValueError("the partner was deleted")
        from game import partner as partner_runtime  # torch: loaded in the worker, never in a web process

        partner = run.partner
        mask_a, mask_b = _choice_masks(experiment, partner)
        runtime = partner_runtime.PartnerRuntime(partner_runtime.PartnerSpec.of(partner))
        key_a, key_b = experiment.keys
        fingerprint = experiment.stimuli_fingerprint
        stimuli = list(
            experiment.stimuli.filter(image__in=experiment.images.all()).select_related("image").order_by("pk")
        )
        categories_a = set(experiment.choice_a_categories.values_list("id", flat=True))
        crop_px = settings.CLICKME["PARTNER_CROP_PX"]
        answers = []
        for start in range(0, len(stimuli), BATCH):
            batch = stimuli[start : start + BATCH]
            # the view the game gives a partner: the centre crop of the served image
            views = np.stack([centre_crop(_pixels(s.file), crop_px) for s in batch])
            p_a = two_way_choice.choice_a_probability(runtime.predict(views), mask_a, mask_b)
            for stimulus, share in zip(batch, p_a, strict=True):
                choice = key_a if share > 0.5 else key_b
                truth = key_a if stimulus.image.category_id in categories_a else key_b
                answers.append(
                    ObserverResponse(
                        run=run,
                        stimulus=stimulus,
                        p_choice_a=float(share),
                        choice_key=choice,
                        is_correct=choice == truth,
                    )
                )
        with transaction.atomic():
            ObserverResponse.objects.filter(run=run).delete()
            ObserverResponse.objects.bulk_create(answers)
            ObserverRun.objects.filter(pk=run_id).update(
                status=ObserverRun.Status.DONE,
                n_stimuli=len(answers),
                stimuli_fingerprint=fingerprint,
                finished_at=timezone.now(),
                error="",
            )
    except Exception as error:  # a broken network file fails the run, visibly, not the worker
        log.exception("observer run %s failed", run_id)
        ObserverRun.objects.filter(pk=run_id).update(
            status=ObserverRun.Status.FAILED,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
    return ObserverRun.objects.get(pk=run_id)
