"""Celery tasks of the training app (queue `training`: one job at a time per worker, acks late)."""

from celery import shared_task

from . import scheduling, services


@shared_task(name="training.tasks.training_job_run", acks_late=True)
def training_job_run(job_id):
    services.job_run(job_id)


@shared_task(name="training.tasks.retrain_if_due")
def retrain_if_due():
    job = scheduling.retrain_if_due()
    return str(job.id) if job else None
