"""The one place the psychophysics app queues its Celery tasks: by name, after commit, so the modules
that queue them never import the tasks module, which imports them (tasks -> observers -> queueing)."""

from django.db import transaction

from clickme_site.celery import app

STIMULI_GENERATE = "psychophysics.tasks.stimuli_generate"
OBSERVER_RUN = "psychophysics.tasks.observer_run"  # routed to the `training` queue (settings.CELERY_TASK_ROUTES)


def stimuli_generate_queue(*, experiment_id: int) -> None:
    transaction.on_commit(lambda: app.send_task(STIMULI_GENERATE, args=[experiment_id]))


def observer_run_queue(*, run_id: int) -> None:
    transaction.on_commit(lambda: app.send_task(OBSERVER_RUN, args=[run_id]))
