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


@pytest.fixture
def models(world, settings):
    """A model (with its curves file) of each job; bob's second model was promoted to be the game's partner."""
    from game.models import Partner
    from training.files import curves_name
    from training.models import ModelVersion

    _clients, jobs = world
    jobs["bob promoted"] = TrainingJob.objects.create(config=SMALL, requested_by=jobs["bob"].requested_by)
    partner = Partner.objects.create(name="model-bob", architecture="exported", weights_file="x.pt2")
    versions = {}
    for key, job in jobs.items():
        (settings.PRIVATE_ROOT / "training" / str(job.id)).mkdir(parents=True)
        (settings.PRIVATE_ROOT / curves_name(job.id)).write_bytes(f"curves of {key}".encode())
        versions[key] = ModelVersion.objects.create(
            name=f"model {key}",
            arch="gala_resnet_tiny",
            config=SMALL,
            metrics={"val_top1": 0.5},
            checkpoint=f"training/{job.id}/model.pt",
            curves=curves_name(job.id),
            job=job,
            partner=partner if key == "bob promoted" else None,
        )
    return versions


def listed_models(client):
    return {row["name"] for row in client.get("/api/v1/models/").json()["results"]}


def test_a_researcher_lists_the_models_of_their_own_jobs_and_the_promoted_ones_and_staff_all(world, models):
    clients, _jobs = world
    assert listed_models(clients["ada"]) == {"model ada", "model bob promoted"}
    assert listed_models(clients["bob"]) == {"model bob", "model bob promoted"}
    assert listed_models(clients["staff"]) == {f"model {key}" for key in models}


def test_training_curves_are_shown_to_whom_the_model_is_and_to_no_one_else(world, models, client):
    clients, jobs = world
    for who, allowed in {
        "ada": {"ada", "bob promoted"},
        "bob": {"bob", "bob promoted"},
        "staff": set(models),
    }.items():
        for key, job in jobs.items():
            answer = clients[who].get(f"/media/training/{job.id}/curves.png")
            if key in allowed:
                assert answer.status_code == 200, (who, key)
                assert b"".join(answer.streaming_content) == f"curves of {key}".encode()
            else:
                assert answer.status_code == 404, (who, key)
    promoted = listed_models(clients["ada"]) and clients["ada"].get("/api/v1/models/").json()["results"]
    url = next(row["curves_url"] for row in promoted if row["name"] == "model bob promoted")
    assert clients["ada"].get(url).status_code == 200
    assert client.get(f"/media/training/{jobs['bob promoted'].id}/curves.png").status_code == 404  # no token
