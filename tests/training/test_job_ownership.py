"""A researcher sees, fetches and cancels only their own training jobs (another's answers like a
missing one: 404); staff see and cancel all, scheduled jobs included."""

import uuid

import pytest

from tests.training.conftest import SMALL, client_for
from training.models import TrainingJob


@pytest.fixture
def world(db, django_user_model):
    ada, bob = (django_user_model.objects.create_user(name) for name in ("ada", "bob"))
    boss = django_user_model.objects.create_user("boss", is_staff=True)
    jobs = {
        "ada": TrainingJob.objects.create(config=SMALL, requested_by=ada),
        "bob": TrainingJob.objects.create(config=SMALL, requested_by=bob),
        "scheduled": TrainingJob.objects.create(config=SMALL, kind="scheduled"),
    }
    return {"ada": client_for(ada), "bob": client_for(bob), "staff": client_for(boss)}, jobs


def listed(client):
    return {row["id"] for row in client.get("/api/v1/training/jobs/").json()["results"]}


def test_a_researcher_lists_only_their_own_jobs_and_staff_list_all(world):
    clients, jobs = world
    assert listed(clients["ada"]) == {str(jobs["ada"].id)}
    assert listed(clients["bob"]) == {str(jobs["bob"].id)}
    assert listed(clients["staff"]) == {str(job.id) for job in jobs.values()}


def test_another_researchers_job_is_a_404_like_a_missing_one_and_staff_fetch_any(world):
    clients, jobs = world
    assert clients["ada"].get(f"/api/v1/training/jobs/{jobs['ada'].id}/").status_code == 200
    for other in (jobs["bob"].id, jobs["scheduled"].id, uuid.uuid4()):
        answer = clients["ada"].get(f"/api/v1/training/jobs/{other}/")
        assert answer.status_code == 404 and answer.json() == {"detail": "no such training job", "code": "not_found"}
    for job in jobs.values():
        assert clients["staff"].get(f"/api/v1/training/jobs/{job.id}/").json()["id"] == str(job.id)


def test_a_researcher_cannot_cancel_another_researchers_job_and_it_stays_untouched(world):
    clients, jobs = world
    answer = clients["ada"].post(f"/api/v1/training/jobs/{jobs['bob'].id}/cancel/")
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    jobs["bob"].refresh_from_db()
    assert jobs["bob"].status == "queued" and not jobs["bob"].cancel_requested and jobs["bob"].finished_at is None
    assert clients["ada"].post(f"/api/v1/training/jobs/{jobs['scheduled'].id}/cancel/").status_code == 404
    own = clients["ada"].post(f"/api/v1/training/jobs/{jobs['ada'].id}/cancel/")
    assert own.status_code == 202 and own.json()["status"] == "cancelled"


def test_staff_cancel_any_researchers_job(world):
    clients, jobs = world
    answer = clients["staff"].post(f"/api/v1/training/jobs/{jobs['bob'].id}/cancel/")
    assert answer.status_code == 202 and answer.json()["status"] == "cancelled"
    jobs["bob"].refresh_from_db()
    assert jobs["bob"].status == "cancelled" and jobs["bob"].cancel_requested


def test_a_submitted_job_belongs_to_its_submitter(world, categories, django_capture_on_commit_callbacks):
    from tests.training.conftest import benchmark_with_maps

    clients, _jobs = world
    benchmark_with_maps(categories)
    with django_capture_on_commit_callbacks() as callbacks:
        queued = clients["bob"].post("/api/v1/training/jobs/", {"config": SMALL}, format="json")
    assert queued.status_code == 202 and len(callbacks) == 1
    assert str(queued.json()["id"]) in listed(clients["bob"]) and str(queued.json()["id"]) not in listed(clients["ada"])
    assert TrainingJob.objects.get(pk=queued.json()["id"]).requested_by.username == "bob"
