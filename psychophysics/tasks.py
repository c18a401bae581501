"""Celery tasks of the psychophysics app: thin, idempotent, by id. Stimuli go to the default queue;
model observers (torch) to the `training` queue, whose workers load networks."""

from celery import shared_task

from . import queueing


@shared_task(name=queueing.STIMULI_GENERATE, acks_late=True, soft_time_limit=3600, time_limit=3700)
def stimuli_generate_task(experiment_id: int) -> None:
    from .stimulus_generation import stimuli_generate

    stimuli_generate(experiment_id=experiment_id)


@shared_task(name=queueing.OBSERVER_RUN, acks_late=True, soft_time_limit=3600, time_limit=3700)
def observer_run_task(run_id: int) -> None:
    from .observers import observer_run

    observer_run(run_id=run_id)
