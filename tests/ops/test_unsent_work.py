"""Work committed while the broker is down (an export, a training job) is still accepted, stays
queued without `published_at`, and beat's sweep sends it once the broker is back: nothing the
service accepted waits for ever on a message that was never sent."""

from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from annotations.models import Export
from annotations.services import exports_publish_unsent
from clickme_site import redis_skip
from tests.training.conftest import SMALL, benchmark_with_maps, client_for
from training.jobs import jobs_publish_unsent
from training.models import TrainingJob

from .test_outages import broker_at


def queued_task_names(url, queue):
    """The task names of the messages waiting in `queue` on the Redis broker at `url`."""
    import json

    return [json.loads(raw)["headers"]["task"] for raw in redis.Redis.from_url(url).lrange(queue, 0, -1)]


@pytest.mark.django_db(transaction=True)
def test_an_export_and_a_job_requested_during_a_broker_outage_are_sent_by_the_sweep(
    own_redis, categories, django_user_model, settings
):
    benchmark_with_maps(categories)
    researcher = client_for(django_user_model.objects.create_user("ada"))
    with broker_at(own_redis.url):
        own_redis.stop()
        export = researcher.post("/api/v1/exports/", {"format": "npz", "size": 16}, format="json")
        job = researcher.post("/api/v1/training/jobs/", {"config": SMALL}, format="json")
        assert export.status_code == 202, export.content
        assert job.status_code in (201, 202), job.content
        stored_export = Export.objects.get(pk=export.json()["id"])
        stored_job = TrainingJob.objects.get(pk=job.json()["id"])
        assert stored_export.status == "queued" and stored_export.published_at is None
        assert stored_job.status == "queued" and stored_job.published_at is None

        later = timezone.now() + timedelta(minutes=1)
        assert exports_publish_unsent(now=later) == 0 and jobs_publish_unsent(now=later) == 0  # still down
        own_redis.start()
        redis_skip.reset()  # the sweeps run a minute apart: this process's skip after the failure is long over
        assert exports_publish_unsent(now=timezone.now()) == 0  # within the grace: it may be on its way
        assert exports_publish_unsent(now=later) == 1 and jobs_publish_unsent(now=later) == 1
        assert exports_publish_unsent(now=later) == 0 and jobs_publish_unsent(now=later) == 0  # sent once

    stored_export.refresh_from_db()
    stored_job.refresh_from_db()
    assert stored_export.published_at is not None and stored_job.published_at is not None
    assert queued_task_names(own_redis.url, "maps") == ["annotations.tasks.export_build"]
    assert queued_task_names(own_redis.url, "training") == ["training.tasks.training_job_run"]


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_up_the_message_is_sent_once_and_the_sweep_leaves_it_alone(
    own_redis, categories, django_user_model
):
    benchmark_with_maps(categories)
    researcher = client_for(django_user_model.objects.create_user("ada"))
    with broker_at(own_redis.url):
        export = researcher.post("/api/v1/exports/", {"format": "npz", "size": 16}, format="json")
        assert Export.objects.get(pk=export.json()["id"]).published_at is not None
        assert exports_publish_unsent(now=timezone.now() + timedelta(hours=1)) == 0
    assert queued_task_names(own_redis.url, "maps") == ["annotations.tasks.export_build"]
