"""Selection is honest (docs/SCIENCE.md, issue 9): the scheduler's best config and the promotion decision
read validation metrics only; data without a validation split is refused, never substituted; the
test split is read once, at the end, for reporting."""

import pytest

from game.models import Image, Partner
from tests.training.conftest import SMALL, benchmark_with_maps
from training import registry, scheduling, selectors
from training.job_execution import job_execute
from training.models import ModelVersion, TrainingJob


def version(name, config=None, **metrics):
    return ModelVersion.objects.create(name=name, arch="gala_resnet_tiny", config=config or {}, metrics=metrics)


def test_the_best_config_is_the_best_on_validation_even_when_another_is_better_on_test(db):
    version("test champion", {"seed": 1}, val_top1=0.60, test_top1=0.95)
    version("validation champion", {"seed": 2}, val_top1=0.70, test_top1=0.50)
    version("test only (old)", {"seed": 3}, test_top1=0.99)
    assert selectors.best_config() == {"seed": 2}


def test_with_no_model_ranked_on_validation_the_default_config_is_used(db, settings):
    version("test only (old)", {"seed": 3}, test_top1=0.99)
    assert selectors.best_config() == settings.CLICKME_TRAINING["DEFAULT_CONFIG"]


@pytest.fixture
def partner_model(db):
    partner = Partner.objects.create(name="p", architecture="exported", weights_file="x", is_active=True)
    current = version(
        "current", val_top1=0.80, val_attention_alignment=0.50, test_top1=0.60, test_attention_alignment=0.2
    )
    current.partner = partner
    current.save()
    return current


def test_a_model_better_on_test_but_worse_on_validation_is_not_promoted(partner_model, monkeypatch):
    promoted = []
    monkeypatch.setattr(registry, "model_promote", lambda version: promoted.append(version.name))
    flattering = version(
        "flattering", val_top1=0.75, val_attention_alignment=0.55, test_top1=0.99, test_attention_alignment=0.9
    )
    misaligned = version(
        "misaligned", val_top1=0.85, val_attention_alignment=0.45, test_top1=0.99, test_attention_alignment=0.9
    )
    honest = version("honest", val_top1=0.80, val_attention_alignment=0.50, test_top1=0.10, test_attention_alignment=0)
    decisions = {v.name: registry.promotion_decide(version=v) for v in (flattering, misaligned, honest)}
    assert promoted == ["honest"]
    assert decisions["flattering"]["reason"] == "validation accuracy fell"
    assert decisions["misaligned"]["reason"] == "validation alignment fell"
    assert decisions["honest"]["alignment_metric"] == "val_attention_alignment"
    assert all(not any(key.startswith("test") for key in d) for d in decisions.values())


def test_the_partner_models_numbers_measured_on_the_same_validation_split_replace_its_stored_ones(
    partner_model, monkeypatch
):
    promoted = []
    monkeypatch.setattr(registry, "model_promote", lambda version: promoted.append(version.name))
    candidate = version("candidate", val_top1=0.78, val_attention_alignment=0.5)
    stored = registry.promotion_decide(version=candidate)  # 0.78 < the 0.80 stored with the partner's model
    assert stored["promoted"] is False and stored["against_numbers"] == "stored when it was trained"
    now = registry.promotion_decide(
        version=candidate, against_metrics={"val_top1": 0.7, "val_attention_alignment": 0.5}
    )
    assert now["promoted"] is True and now["old_val_top1"] == 0.7 and promoted == ["candidate"]
    assert now["against_numbers"] == "measured now on this job's validation split"


def test_the_first_promotion_compares_validation_top1_with_the_floor(db, settings, monkeypatch):
    promoted = []
    monkeypatch.setattr(registry, "model_promote", lambda version: promoted.append(version.name))
    settings.CLICKME_TRAINING = {**settings.CLICKME_TRAINING, "MIN_TOP1_FIRST_PROMOTION": 0.5}
    decision = registry.promotion_decide(version=version("lucky on test", val_top1=0.4, test_top1=0.9))
    assert promoted == [] and decision["promoted"] is False and "val top-1 0.4" in decision["reason"]


def test_a_submission_without_a_validation_split_is_a_400_and_stores_nothing(researcher, categories):
    benchmark_with_maps(categories, 6, splits=("test", "test"))
    answer = researcher.post("/api/v1/training/jobs/", {"config": SMALL}, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "no_validation_split"
    assert "no validation split" in answer.json()["detail"] and "never on test" in answer.json()["detail"]
    assert not TrainingJob.objects.exists()


def test_scheduled_retraining_without_a_validation_split_is_kept_as_a_failed_job_and_queues_nothing(
    categories, settings, django_capture_on_commit_callbacks
):
    settings.CLICKME_TRAINING = {**settings.CLICKME_TRAINING, "RETRAIN_MIN_NEW_MAPS": 1, "DEFAULT_CONFIG": {**SMALL}}
    benchmark_with_maps(categories, 6, splits=("test", "test"))
    with django_capture_on_commit_callbacks() as callbacks:
        job = scheduling.retrain_if_due()
    assert callbacks == [] and job.kind == "scheduled" and job.status == "failed"
    assert job.error.startswith("TrainingDataError: no validation split")


def test_a_job_whose_validation_split_is_gone_when_it_runs_fails_with_that_reason(categories):
    images = benchmark_with_maps(categories)
    job = TrainingJob.objects.create(config=SMALL)
    Image.objects.filter(pk__in=[i.pk for i in images], split="val").update(split="test")
    with pytest.raises(ValueError):
        job_execute(job_id=job.pk, device="cpu", echo=lambda *a: None)
    job.refresh_from_db()
    assert job.status == "failed" and "no validation split" in job.error
    assert not ModelVersion.objects.exists()


def test_without_a_test_split_a_model_reports_no_test_numbers_rather_than_validation_ones(categories):
    benchmark_with_maps(categories, 6, splits=("val", "val"))
    job = TrainingJob.objects.create(config=SMALL)
    model = job_execute(job_id=job.pk, device="cpu", echo=lambda *a: None)
    assert model.metrics["val_top1"] is not None
    assert not [key for key in model.metrics if key.startswith("test_")]
