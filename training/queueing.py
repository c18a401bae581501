"""The one place the training app queues its Celery tasks: by name, after commit, so that no module
that queues a task imports the tasks module (tasks -> jobs -> queueing, never back)."""

from uuid import UUID

from django.db import transaction

from clickme_site.celery import app

TRAINING_JOB_RUN = "training.tasks.training_job_run"
RETRAIN_IF_DUE = "training.tasks.retrain_if_due"


def training_job_queue(*, job_id: UUID | str) -> None:
    """Queue the job's run on the `training` queue (CELERY_TASK_ROUTES) once the transaction commits."""
    transaction.on_commit(lambda: app.send_task(TRAINING_JOB_RUN, args=[str(job_id)]))
