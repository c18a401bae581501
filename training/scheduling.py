"""Scheduled retraining: when enough new maps exist, queue a job with the best config so far (ranked
on validation); the job decides its own promotion (registry.promotion_decide) when it ends."""

import logging

from django.utils import timezone

from . import jobs, selectors
from .config import ConfigError
from .models import TrainingJob
from .selectors import TrainingDataError

log = logging.getLogger(__name__)


def retrain_if_due() -> TrainingJob | None:
    """Queue a scheduled job when at least RETRAIN_MIN_NEW_MAPS maps changed since the last model.
    When the job is refused (no validation split to select on, a config the data no longer fits)
    the refusal is kept as a failed scheduled job, so operators see why nothing retrains."""
    jobs.jobs_reap_lost()  # a scheduled job lost with its worker must not block retraining for ever
    if selectors.scheduled_job_pending():
        return None
    count, needed = selectors.maps_new_since_last_model(), selectors.training_setting("RETRAIN_MIN_NEW_MAPS")
    if count < needed:
        log.info("retraining not due: %s new maps (need %s)", count, needed)
        return None
    config = selectors.best_config()
    try:
        return jobs.job_submit(config=config, kind=TrainingJob.Kind.SCHEDULED)
    except (TrainingDataError, ConfigError) as error:
        log.error("scheduled retraining refused: %s", error)
        return TrainingJob.objects.create(
            config=config,
            kind=TrainingJob.Kind.SCHEDULED,
            status=TrainingJob.Status.FAILED,
            error=f"{type(error).__name__}: {error}",
            finished_at=timezone.now(),
        )
