"""Training jobs: submit (checked, queued after commit), run in a child process watched by the
worker, cancel, and reap the jobs whose worker was lost. No torch here: the child process trains
(`manage.py train --job ID`, training.job_execution)."""

import logging
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from . import queueing, selectors
from .config import config_from_dict
from .files import LOG_FILE, job_dir
from .models import TrainingJob
from .selectors import TrainingDataError

log = logging.getLogger(__name__)
JOB_LEASE = timedelta(minutes=30)  # a running job silent for this long was lost with its worker
STOP_GRACE_S = 15  # a child asked to stop (SIGTERM) is killed after this long
UNSENT_GRACE = timedelta(seconds=30)  # a job committed this recently may still be on its way to the broker


def job_submit(
    *,
    config: Any,
    user: User | None = None,
    kind: str = TrainingJob.Kind.MANUAL,
) -> TrainingJob:
    """Check the config (ConfigError naming the key) and that the data has a validation split
    (TrainingDataError), then store the job and queue it on the `training` queue after commit."""
    checked = config_from_dict(config, n_train_images=selectors.n_training_images())
    missing = selectors.validation_split_missing()
    if missing:
        raise TrainingDataError(missing)
    job = TrainingJob.objects.create(config=checked.to_dict(), requested_by=user, kind=kind)
    queueing.training_job_queue(job_id=job.id)
    return job


def job_cancel(*, job: TrainingJob) -> TrainingJob:
    """A queued job is cancelled at once; a running one when its process notices (within seconds)."""
    TrainingJob.objects.filter(pk=job.pk, status=TrainingJob.Status.QUEUED).update(
        status=TrainingJob.Status.CANCELLED, cancel_requested=True, finished_at=timezone.now()
    )
    TrainingJob.objects.filter(pk=job.pk, status=TrainingJob.Status.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def jobs_reap_lost(*, now: datetime | None = None) -> int:
    """Running jobs whose process has been silent past the lease fail with that reason."""
    now = now or timezone.now()
    return TrainingJob.objects.filter(status=TrainingJob.Status.RUNNING, heartbeat_at__lt=now - JOB_LEASE).update(
        status=TrainingJob.Status.FAILED,
        finished_at=now,
        error=f"no sign of life for {JOB_LEASE}: the worker running it was lost",
    )


def jobs_publish_unsent(*, now: datetime | None = None) -> int:
    """Send again the run of every job still queued that never reached the broker (it was down when
    the job was submitted). Returns how many the broker took."""
    now = now or timezone.now()
    unsent = TrainingJob.objects.filter(
        status=TrainingJob.Status.QUEUED, published_at__isnull=True, created_at__lt=now - UNSENT_GRACE
    ).values_list("pk", flat=True)
    return sum(queueing.training_job_send(job_id=pk) for pk in unsent)


def _job_claim(job_id: UUID | str) -> bool:
    """Move a queued job (or one whose worker was lost: it resumes from its last checkpoint) to
    running; False when it is cancelled, finished or run by a live process."""
    stale = timezone.now() - JOB_LEASE
    claimable = Q(status=TrainingJob.Status.QUEUED) | Q(status=TrainingJob.Status.RUNNING, heartbeat_at__lt=stale)
    return bool(
        TrainingJob.objects.filter(claimable, pk=job_id).update(
            status=TrainingJob.Status.RUNNING, heartbeat_at=timezone.now()
        )
    )


def _child_stop(child: subprocess.Popen) -> None:
    """SIGTERM to the child's process group (its DataLoader workers too), SIGKILL after STOP_GRACE_S."""
    try:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    except ProcessLookupError:
        child.wait()


def _job_end(job_id: UUID | str, status: str, error: str = "") -> None:
    """Record how a job ended, unless its own process already recorded that it is done."""
    TrainingJob.objects.filter(pk=job_id, status__in=[TrainingJob.Status.QUEUED, TrainingJob.Status.RUNNING]).update(
        status=status, error=error, finished_at=timezone.now()
    )


def job_run(*, job_id: UUID | str, poll_s: float = 1.0) -> None:
    """What the worker does: run the job in a child process of its own session, so that a crash,
    an out-of-memory kill or a cancel never takes the worker down, and a hard time limit that kills
    this watcher leaves the child training (it records its own end; the reaper catches a silent
    one). Watch for cancellation; at the task's soft time limit stop the child and fail the job
    with that reason; record a crash with the log's tail."""
    if not _job_claim(job_id):
        return  # safe to deliver twice (acks_late, the broker's visibility timeout)
    directory = job_dir(job_id)
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / LOG_FILE
    manage = Path(settings.BASE_DIR) / "manage.py"
    with open(log_path, "ab") as log_file:
        child = subprocess.Popen(
            [sys.executable, str(manage), "train", "--job", str(job_id)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
            start_new_session=True,
        )
        try:
            while child.poll() is None:
                time.sleep(poll_s)
                if TrainingJob.objects.filter(pk=job_id, cancel_requested=True).exists():
                    _child_stop(child)
                    _job_end(job_id, TrainingJob.Status.CANCELLED)
                    return
        except SoftTimeLimitExceeded:
            _child_stop(child)
            connection.close()  # the limit may have interrupted a query: start from a fresh connection
            limit = settings.CLICKME_TRAINING["JOB_TIME_LIMIT_S"]
            log.error("training job %s ran past its time limit of %s s and was stopped", job_id, limit)
            _job_end(
                job_id,
                TrainingJob.Status.FAILED,
                f"time limit exceeded: the job ran past CLICKME_TRAINING_JOB_TIME_LIMIT_S ({limit} s) and was "
                "stopped; its last checkpoint is kept",
            )
            return
    if child.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        reason = f"killed by signal {-child.returncode}" if child.returncode < 0 else f"exit code {child.returncode}"
        _job_end(job_id, TrainingJob.Status.FAILED, f"the training process died ({reason}):\n{tail}")
