"""Celery tasks of the training app (queue `training`: one job at a time per worker, acks late).
Thin and torch-free: a job trains in a child process (training.jobs.job_run). Their time limits
are in settings (CELERY_TASK_ANNOTATIONS)."""

from celery import shared_task

from . import jobs, queueing, scheduling


@shared_task(name=queueing.TRAINING_JOB_RUN, acks_late=True)
def training_job_run(job_id: str) -> None:
    jobs.job_run(job_id=job_id)


@shared_task(name=queueing.RETRAIN_IF_DUE)
def retrain_if_due() -> str | None:
    job = scheduling.retrain_if_due()
    return str(job.id) if job else None


@shared_task(name=queueing.JOBS_PUBLISH_UNSENT)
def jobs_publish_unsent() -> int:
    """Beat's sweep, routed to the `celery` queue (a busy training worker must not hold it up)."""
    return jobs.jobs_publish_unsent()
