"""Celery time limits and logging on a real prefork worker: a training job past its task's soft
limit is stopped (its child process too) and fails with that reason, the worker lives on, and the
worker logs through Django's LOGGING (cookiecutter-django's setup), not Celery's own format."""

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from clickme_site.celery import app
from tests import conftest as shared
from tests.training.conftest import SMALL, benchmark_with_maps
from training.jobs import STOP_GRACE_S
from training.models import TrainingJob
from training.queueing import TRAINING_JOB_RUN

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "training-limits-test"  # its own queue: the session's solo worker (no time limits) never takes it
LIMIT_S = 6
# LOGGING's "plain" format: "%(asctime)s %(levelname)s %(name)s: %(message)s"
DJANGO_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ", re.M)
CELERY_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: \w+/[\w-]+\]", re.M)


@pytest.fixture(scope="module")
def limited_worker(tmp_path_factory, django_db_setup, django_db_blocker):
    """A prefork worker on QUEUE whose training jobs have a LIMIT_S soft time limit."""
    media_root = tmp_path_factory.mktemp("limited-worker-media")
    log_path = tmp_path_factory.mktemp("limited-worker") / "worker.log"
    with django_db_blocker.unblock():
        database_url = shared.worker_database_url()
    hostname = f"pytest-limits-{uuid.uuid4().hex[:8]}@localhost"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clickme_site.settings.test",
        "CLICKME_MEDIA_ROOT": str(media_root),
        "DATABASE_URL": database_url,
        "CLICKME_TRAINING_JOB_TIME_LIMIT_S": str(LIMIT_S),
        "DJANGO_LOG_LEVEL": "ERROR",  # --loglevel INFO wins in a worker
    }
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("celery")), "-A", "clickme_site", "worker", "-Q", QUEUE]
            + ["--pool", "prefork", "--concurrency", "1", "--hostname", hostname]
            + ["--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            env=env,
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 90
    while not app.control.ping(destination=[hostname], timeout=0.5):
        assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
    shared._worker_hostnames.append(hostname)
    yield process, hostname, media_root, log_path
    shared._worker_hostnames.remove(hostname)
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def training_children(job_id):
    return [
        p
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"] and "--job" in p.info["cmdline"] and str(job_id) in p.info["cmdline"]
    ]


@pytest.mark.django_db(transaction=True)
def test_a_job_past_its_soft_time_limit_is_stopped_and_fails_with_that_reason_and_the_worker_lives_on(
    limited_worker, categories, settings
):
    process, hostname, media_root, log_path = limited_worker
    settings.MEDIA_ROOT = media_root
    benchmark_with_maps(categories)
    job = TrainingJob.objects.create(config={**SMALL, "epochs": 500})
    started = time.monotonic()
    app.send_task(TRAINING_JOB_RUN, args=[str(job.id)], queue=QUEUE)
    deadline = started + 120
    seen_child = False
    while time.monotonic() < deadline:
        job.refresh_from_db()
        seen_child = seen_child or bool(training_children(job.id))
        if job.status not in ("queued", "running"):
            break
        time.sleep(0.3)
    assert job.status == "failed", job.error
    assert job.error.startswith("time limit exceeded") and f"({LIMIT_S} s)" in job.error
    assert seen_child and time.monotonic() - started >= LIMIT_S
    assert training_children(job.id) == []  # the child training process was stopped, not orphaned
    assert process.poll() is None and app.control.ping(destination=[hostname], timeout=2)
    text = log_path.read_text()
    assert re.search(
        rf"^\S+ \S+ ERROR training\.jobs: training job {job.id} ran past its time limit of {LIMIT_S} s", text, re.M
    ), text[-3000:]


def test_the_worker_logs_through_djangos_logging_not_celerys_format(limited_worker):
    _process, hostname, _media_root, log_path = limited_worker
    text = log_path.read_text()
    assert re.search(rf"INFO celery[\w.]*: {re.escape(hostname)} ready", text), text[-3000:]
    assert DJANGO_LINE.search(text) and not CELERY_LINE.search(text), text[-3000:]


def test_every_time_limit_and_every_queued_name_belongs_to_a_registered_task(settings):
    from annotations import queueing as map_queueing
    from training import queueing

    app.loader.import_default_modules()
    names = {
        getattr(module, constant)
        for module in (queueing, map_queueing)
        for constant in dir(module)
        if constant.isupper() and isinstance(getattr(module, constant), str)
    }
    assert len(names) == 8 and names <= set(app.tasks)  # 6 tasks and the 2 unsent-work sweeps
    assert set(settings.CELERY_TASK_ANNOTATIONS) <= set(app.tasks)
    job_task = app.tasks[TRAINING_JOB_RUN]
    assert job_task.soft_time_limit == settings.CLICKME_TRAINING["JOB_TIME_LIMIT_S"]
    assert job_task.time_limit > job_task.soft_time_limit + STOP_GRACE_S  # time to stop the child
