"""Training jobs through the API, run by a real worker in a child process; promotion; scheduling."""

import numpy as np
import pytest

from game.models import Partner
from tests.conftest import synthetic_image
from tests.training.conftest import SMALL, benchmark_with_maps, client_for, wait_for
from training import jobs, registry, scheduling
from training.job_execution import job_execute
from training.models import ModelVersion, TrainingJob


@pytest.mark.parametrize(
    "config, key",
    [
        ({**SMALL, "colour": 1}, "colour"),
        ({**SMALL, "epochs": "2"}, "epochs"),
        ({**SMALL, "arch": "vgg16"}, "arch"),
        ({**SMALL, "epochs": 0}, "epochs"),
        ({**SMALL, "batch_size": 64}, "batch_size"),
        ("not an object", "config"),
    ],
)
def test_bad_configs_are_400_naming_the_key_and_nothing_is_queued(researcher, categories, config, key):
    benchmark_with_maps(categories, 4)
    response = researcher.post("/api/v1/training/jobs/", {"config": config}, format="json")
    assert response.status_code == 400 and response.json()["detail"].startswith(key)
    assert not TrainingJob.objects.exists()


def test_without_maps_a_clickme_job_fails_with_that_reason(categories, settings):
    for k in range(6):
        synthetic_image(categories[k % 2], k, split="val" if k >= 4 else "train")
    job = TrainingJob.objects.create(config={**SMALL})
    with pytest.raises(ValueError):
        job_execute(job_id=job.pk, device="cpu", echo=lambda *a: None)
    job.refresh_from_db()
    assert job.status == "failed" and "no ClickMe maps" in job.error


@pytest.mark.django_db(transaction=True)
def test_a_queued_job_trains_registers_a_model_and_its_promotion_changes_the_partner(
    celery_worker_process, categories, settings, django_user_model, ranked_partner, monkeypatch
):
    settings.MEDIA_ROOT = celery_worker_process.media_root  # the worker reads the images we write
    settings.PRIVATE_ROOT = celery_worker_process.private_root  # ... and writes checkpoints and curves there
    # an untrained two-category network, which the game's rules refuse (tests/game/test_promotion_rule.py):
    # here the training pipeline's promotion is under test
    monkeypatch.setattr("game.partner_validity.promotion_refusal", lambda validity: None)
    benchmark_with_maps(categories)
    researcher = client_for(django_user_model.objects.create_user("ada"))
    staff = client_for(django_user_model.objects.create_user("boss", is_staff=True))
    queued = researcher.post("/api/v1/training/jobs/", {"config": SMALL}, format="json")
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    body = wait_for(queued.json()["id"], researcher, {"done", "failed"})
    assert body["status"] == "done", body["error"]
    assert body["progress"] == 1.0 and body["device"] == "cpu" and body["started_at"] and body["finished_at"]
    assert body["metrics"]["test_top1"] is not None and body["metrics"]["test_attention_rho"] is not None
    assert [r["epoch"] for r in body["history"]] == [1, 2]
    models = researcher.get("/api/v1/models/").json()["results"]
    assert len(models) == 1 and models[0]["is_partner"] is False and models[0]["curves_url"]
    assert researcher.get(models[0]["curves_url"]).status_code == 200
    assert researcher.post(f"/api/v1/models/{models[0]['id']}/promote/").status_code == 403
    promoted = staff.post(f"/api/v1/models/{models[0]['id']}/promote/")
    assert promoted.status_code == 200 and promoted.json()["is_partner"] is True
    partner = Partner.objects.get(is_active=True)
    assert partner != ranked_partner and partner.model_version.pk == models[0]["id"]

    from tests.game.conftest import PlayerClient

    player = PlayerClient()
    start = player.start()
    answer = player.clicks(start["round_id"], [[100, 100, 0]]).json()
    assert len(answer["guesses"]) == 2  # the new partner knows the two trained categories
    from game.models import Round

    assert Round.objects.get(pk=start["round_id"]).partner == partner


@pytest.mark.django_db(transaction=True)
def test_a_running_job_can_be_cancelled_and_the_worker_survives(
    celery_worker_process, categories, settings, django_user_model
):
    from clickme_site.celery import app

    settings.MEDIA_ROOT = celery_worker_process.media_root
    settings.PRIVATE_ROOT = celery_worker_process.private_root
    benchmark_with_maps(categories)
    researcher = client_for(django_user_model.objects.create_user("ada"))
    job_id = researcher.post("/api/v1/training/jobs/", {"config": {**SMALL, "epochs": 500}}, format="json").json()["id"]
    wait_for(job_id, researcher, {"running"})
    assert researcher.post(f"/api/v1/training/jobs/{job_id}/cancel/").status_code == 202
    body = wait_for(job_id, researcher, {"cancelled", "failed", "done"}, timeout_s=60)
    assert body["status"] == "cancelled"
    assert app.control.ping(destination=[celery_worker_process.hostname], timeout=2)


def test_promoting_a_model_whose_file_is_not_a_checkpoint_is_refused(staff, categories, settings):
    (settings.PRIVATE_ROOT / "bad.pt").write_bytes(b"not a checkpoint")
    version = ModelVersion.objects.create(name="broken", arch="gala_resnet_tiny", config=SMALL, checkpoint="bad.pt")
    response = staff.post(f"/api/v1/models/{version.pk}/promote/")
    assert response.status_code == 409 and "not a ClickMe checkpoint" in response.json()["detail"]
    assert not Partner.objects.exists()


def test_a_promotion_the_games_partner_rules_refuse_is_a_409_with_their_message_and_changes_nothing(
    staff, categories, settings, ranked_partner, monkeypatch
):
    from clickme_site.errors import Conflict
    from training import checkpoints
    from training.config import TrainConfig
    from training.trainer import net_for

    def refuse(partner):
        raise Conflict("the partner wins 0.91 of rounds with no click: too easy", "partner_too_easy")

    monkeypatch.setattr("game.partner_registry.partner_activate", refuse)
    # the game's own rule lets it through (it has its tests), so the registry's refusal is the one seen
    monkeypatch.setattr("game.partner_validity.promotion_refusal", lambda validity: None)
    for k in range(2):
        synthetic_image(categories[k], k)
    config = TrainConfig(**SMALL)
    path = checkpoints.model_save(
        settings.PRIVATE_ROOT / "training" / "m" / "model.pt",
        config=config.to_dict(),
        arch=config.arch,
        model=net_for(config, 2),
        num_classes=2,
        categories=[{"id": c.id, "wnid": c.wnid, "name": c.name} for c in categories[:2]],
    )
    version = ModelVersion.objects.create(
        name="trained",
        arch=config.arch,
        config=config.to_dict(),
        checkpoint=str(path.relative_to(settings.PRIVATE_ROOT)),
    )
    response = staff.post(f"/api/v1/models/{version.pk}/promote/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "cannot promote: the partner wins 0.91 of rounds with no click: too easy",
        "code": "partner_too_easy",
    }
    version.refresh_from_db()
    assert version.partner is None and list(Partner.objects.all()) == [ranked_partner]
    assert Partner.objects.get().is_active


def test_retraining_is_queued_only_when_enough_new_maps_exist(categories, settings, django_capture_on_commit_callbacks):
    settings.CLICKME_TRAINING = {**settings.CLICKME_TRAINING, "RETRAIN_MIN_NEW_MAPS": 3, "DEFAULT_CONFIG": {**SMALL}}
    benchmark_with_maps(categories, 2)
    assert scheduling.retrain_if_due() is None
    benchmark_with_maps(categories, 8)
    with django_capture_on_commit_callbacks() as callbacks:
        job = scheduling.retrain_if_due()
    assert job.kind == "scheduled" and job.config["arch"] == SMALL["arch"] and len(callbacks) == 1
    assert scheduling.retrain_if_due() is None  # one scheduled job at a time


def test_promotion_only_when_accuracy_and_alignment_do_not_fall(db, monkeypatch, settings):
    promoted = []
    monkeypatch.setattr(registry, "model_promote", lambda version: promoted.append(version.name))
    partner = Partner.objects.create(name="p", architecture="exported", weights_file="x", is_active=True)
    ModelVersion.objects.create(
        name="current",
        arch="a",
        config={},
        partner=partner,
        metrics={"val_top1": 0.8, "val_attention_alignment": 0.5},
    )
    better = ModelVersion.objects.create(
        name="better", arch="a", config={}, metrics={"val_top1": 0.82, "val_attention_alignment": 0.55}
    )
    less_aligned = ModelVersion.objects.create(
        name="less aligned", arch="a", config={}, metrics={"val_top1": 0.9, "val_attention_alignment": 0.4}
    )
    worse = ModelVersion.objects.create(
        name="worse", arch="a", config={}, metrics={"val_top1": 0.7, "val_attention_alignment": 0.6}
    )
    decisions = {v.name: registry.promotion_decide(version=v) for v in (better, less_aligned, worse)}
    assert promoted == ["better"]
    assert decisions["less aligned"]["reason"] == "validation alignment fell"
    assert decisions["worse"]["reason"] == "validation accuracy fell"
    assert decisions["better"]["promoted"] and decisions["better"]["old_val_top1"] == 0.8
    assert np.isclose(decisions["better"]["alignment"], 0.55)


def test_a_scheduled_job_trains_decides_and_promotes_unattended(categories, settings, ranked_partner, monkeypatch):
    # an untrained two-category network, which the game's rules refuse (tests/game/test_promotion_rule.py):
    # here the training pipeline's promotion is under test
    monkeypatch.setattr("game.partner_validity.promotion_refusal", lambda validity: None)
    settings.CLICKME_TRAINING = {
        **settings.CLICKME_TRAINING,
        "RETRAIN_MIN_NEW_MAPS": 4,
        "MIN_TOP1_FIRST_PROMOTION": 0.0,
        "DEFAULT_CONFIG": {**SMALL},
    }
    benchmark_with_maps(categories)
    job = scheduling.retrain_if_due()
    version = job_execute(job_id=job.pk, device="cpu", echo=lambda *a: None)
    job.refresh_from_db()
    assert job.status == "done" and job.decision["promoted"] is True
    assert job.decision["against"] == ranked_partner.name and job.decision["val_top1"] == version.metrics["val_top1"]
    assert version.metrics["test_top1"] is not None and "test_top1" not in job.decision  # reported, never compared
    assert Partner.objects.get(is_active=True).model_version == version
    # the next scheduled model must not lower accuracy or alignment to replace this one
    settings.CLICKME_TRAINING = {**settings.CLICKME_TRAINING, "RETRAIN_MIN_NEW_MAPS": 0}
    second = scheduling.retrain_if_due()
    job_execute(job_id=second.pk, device="cpu", echo=lambda *a: None)
    second.refresh_from_db()
    assert second.decision["against"] == version.name
    assert second.decision["against_numbers"] == "measured now on this job's validation split"
    # the same validation images and maps as when the first model finished: the same number again
    assert second.decision["old_val_top1"] == version.metrics["val_top1"]


def test_a_job_lost_with_its_worker_is_taken_over_or_reaped(db, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    runs = []
    monkeypatch.setattr(jobs.subprocess, "Popen", lambda *a, **k: runs.append(a) or _Finished())
    live = TrainingJob.objects.create(config=SMALL, status="running", heartbeat_at=timezone.now())
    lost = TrainingJob.objects.create(config=SMALL, status="running", heartbeat_at=timezone.now() - timedelta(hours=1))
    jobs.job_run(job_id=live.pk, poll_s=0)
    assert runs == []  # a live job is not run twice
    jobs.job_run(job_id=lost.pk, poll_s=0)
    assert len(runs) == 1  # the lost one is taken over (it resumes from its checkpoint)
    TrainingJob.objects.filter(pk=lost.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert jobs.jobs_reap_lost() == 1
    lost.refresh_from_db()
    assert lost.status == "failed" and "worker running it was lost" in lost.error


class _Finished:
    returncode = 0

    def poll(self):
        return 0


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
def test_data_loader_worker_processes_train_without_touching_the_database(categories):
    # Four workers each querying over the parent's inherited connection desynchronise it (checked:
    # with maps loaded lazily in the workers this test fails with "lost synchronization").
    benchmark_with_maps(categories)
    job = TrainingJob.objects.create(config={**SMALL, "epochs": 2, "batch_size": 2, "num_workers": 4})
    job_execute(job_id=job.pk, device="cpu", echo=lambda *a: None)
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert [record["epoch"] for record in job.history] == [1, 2]  # both epochs ran through the worker processes
    # The test's own connection still answers after the workers, with the stored row and its model.
    assert TrainingJob.objects.values_list("status", "progress").get(pk=job.pk) == ("done", 1.0)
    assert ModelVersion.objects.get(job=job).metrics == job.metrics and job.metrics["epoch"] == 2
