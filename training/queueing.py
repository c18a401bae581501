"""The one place the training app queues its Celery tasks: by name, after commit, so that no module
that queues a task imports the tasks module (tasks -> jobs -> queueing, never back)."""

from uuid import UUID

from django.utils import timezone

from clickme_site.publishing import send_after_commit, send_now

TRAINING_JOB_RUN = "training.tasks.training_job_run"
RETRAIN_IF_DUE = "training.tasks.retrain_if_due"
JOBS_PUBLISH_UNSENT = "training.tasks.jobs_publish_unsent"


def _job_published(job_id: str) -> None:
    from .models import TrainingJob

    TrainingJob.objects.filter(pk=job_id, published_at__isnull=True).update(published_at=timezone.now())


def training_job_queue(*, job_id: UUID | str) -> None:
    """Queue the job's run on the `training` queue (CELERY_TASK_ROUTES) once the transaction commits;
    with the broker down the job stays queued and unpublished, and `jobs.jobs_publish_unsent` sends it."""
    send_after_commit(TRAINING_JOB_RUN, args=[str(job_id)], on_sent=lambda: _job_published(str(job_id)))


def training_job_send(*, job_id: UUID | str) -> bool:
    """Send the job's run now (the sweep); True when the broker took it."""
    return send_now(TRAINING_JOB_RUN, args=[str(job_id)], on_sent=lambda: _job_published(str(job_id)))
