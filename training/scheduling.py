"""Scheduled retraining: when enough new maps exist, train with the best config so far, and promote
the result only when accuracy and human alignment do not fall (the decision is kept on the job)."""

import logging

from django.conf import settings

from annotations.models import ClickMap
from game.models import Partner

from .models import ModelVersion, TrainingJob

log = logging.getLogger(__name__)


def training_setting(name):
    return settings.CLICKME_TRAINING[name]


def best_config():
    """The config of the model with the best held-out top-1, or the default."""
    versions = [v for v in ModelVersion.objects.all() if v.metrics.get("test_top1") is not None]
    if not versions:
        return dict(training_setting("DEFAULT_CONFIG"))
    return dict(max(versions, key=lambda v: v.metrics["test_top1"]).config)


def retrain_if_due():
    """Queue a scheduled job when at least RETRAIN_MIN_NEW_MAPS maps changed since the last model."""
    from .services import job_submit, jobs_reap_lost

    jobs_reap_lost()  # a scheduled job lost with its worker must not block retraining for ever
    if TrainingJob.objects.filter(
        kind=TrainingJob.Kind.SCHEDULED, status__in=[TrainingJob.Status.QUEUED, TrainingJob.Status.RUNNING]
    ).exists():
        return None
    last = ModelVersion.objects.order_by("-created_at").first()
    new_maps = ClickMap.objects.filter(updated_at__gt=last.created_at) if last else ClickMap.objects.all()
    count = new_maps.count()
    if count < training_setting("RETRAIN_MIN_NEW_MAPS"):
        log.info("retraining not due: %s new maps (need %s)", count, training_setting("RETRAIN_MIN_NEW_MAPS"))
        return None
    return job_submit(best_config(), kind=TrainingJob.Kind.SCHEDULED)


def _alignment(metrics):
    for key in ("test_attention_alignment", "test_saliency_alignment", "test_attention_rho", "test_saliency_rho"):
        if metrics.get(key) is not None:
            return key, metrics[key]
    return None, None


def promotion_decide(version):
    """Promote `version` when its held-out top-1 and alignment are no worse than the partner's model."""
    from .services import model_promote

    current = ModelVersion.objects.filter(partner__is_active=True).exclude(pk=version.pk).first()
    new_top1 = version.metrics.get("test_top1")
    key, new_alignment = _alignment(version.metrics)
    decision = {"model": version.name, "test_top1": new_top1, "alignment_metric": key, "alignment": new_alignment}
    if current is None:
        floor = training_setting("MIN_TOP1_FIRST_PROMOTION")
        promote = new_top1 is not None and new_top1 >= floor
        decision.update(
            against=(Partner.objects.filter(is_active=True).values_list("name", flat=True).first()),
            reason=f"no trained model is the partner; top-1 {new_top1} vs floor {floor}",
        )
    else:
        old_top1 = current.metrics.get("test_top1")
        old_alignment = current.metrics.get(key) if key else None
        accuracy_holds = new_top1 is not None and old_top1 is not None and new_top1 >= old_top1
        alignment_holds = old_alignment is None or (new_alignment is not None and new_alignment >= old_alignment)
        promote = accuracy_holds and alignment_holds
        decision.update(
            against=current.name,
            old_top1=old_top1,
            old_alignment=old_alignment,
            reason="accuracy and alignment do not fall"
            if promote
            else ("accuracy fell" if not accuracy_holds else "alignment fell"),
        )
    decision["promoted"] = bool(promote)
    if promote:
        model_promote(version)
    return decision
