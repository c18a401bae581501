"""The model registry: registering a trained model, promoting one to be the game's partner, and the
scheduled jobs' promotion decision (validation metrics only; test numbers are for reporting)."""

import logging
from pathlib import Path
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from clickme_site.errors import ServiceError
from game.models import Partner

from . import selectors
from .files import PARTNER_ARTIFACT_FILE, job_dir, stored_name, stored_path
from .models import ModelVersion

log = logging.getLogger(__name__)


def model_register(
    *,
    job_id: UUID | str,
    config: dict[str, Any],
    metrics: dict[str, Any],
    categories: list[dict[str, Any]],
    checkpoint: Path,
    curves: Path | None,
) -> ModelVersion:
    """Keep a trained model's checkpoint, curves and metrics as a ModelVersion."""
    return ModelVersion.objects.create(
        name=f"{config['arch']}-{timezone.now():%Y%m%d-%H%M%S}-{str(job_id)[:8]}",
        arch=config["arch"],
        config=config,
        metrics=metrics,
        checkpoint=stored_name(checkpoint),
        curves=stored_name(curves) if curves else "",
        categories=categories,
        job_id=job_id,
        n_maps_at_training=selectors.n_maps(),
    )


def model_promote(*, version: ModelVersion) -> ModelVersion:
    """Export the model as a partner artifact and make it the game's partner (running processes
    pick it up on their next round). ValueError/OSError when the checkpoint cannot be exported;
    a refusal of the game's partner rules (a ServiceError) is raised as it is, nothing changed.
    Loads torch in the calling process, as the game's first click post does."""
    from game.partner_registry import partner_register  # torch: only when a model is promoted

    from .partner_export import partner_export_checkpoint

    artifact = partner_export_checkpoint(
        stored_path(version.checkpoint),
        job_dir(version.job_id or version.pk) / PARTNER_ARTIFACT_FILE,
        architecture=version.arch,
        metrics=version.metrics,
    )
    with transaction.atomic():
        partner = partner_register(name=f"model-{version.name}"[:200], weights_path=artifact, activate=True)
        version.partner = partner
        version.save(update_fields=["partner"])
    return version


def _first_promotion(version: ModelVersion, top1: float | None) -> tuple[bool, dict[str, Any]]:
    floor = selectors.training_setting("MIN_TOP1_FIRST_PROMOTION")
    promote = top1 is not None and top1 >= floor
    against = Partner.objects.filter(is_active=True).values_list("name", flat=True).first()
    return promote, {
        "against": against,
        "reason": f"no trained model is the partner; val top-1 {top1} vs floor {floor}",
    }


def promotion_decide(*, version: ModelVersion, against_metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """Promote `version` when its validation top-1 and validation alignment are no worse than those
    of the partner's model (never test numbers): `against_metrics` are the partner model's numbers
    on the same validation split when the caller could measure them, else its stored ones are used
    (the split and its maps may have changed since). The decision and its numbers are returned."""
    top1 = version.metrics.get(selectors.SELECTION_TOP1)
    key, alignment = selectors.validation_alignment(version.metrics)
    decision: dict[str, Any] = {
        "model": version.name,
        "selection_split": selectors.SELECTION_SPLIT,
        "val_top1": top1,
        "alignment_metric": key,
        "alignment": alignment,
    }
    current = selectors.partner_model_version(exclude=version)
    if current is None:
        promote, details = _first_promotion(version, top1)
    else:
        old_metrics = current.metrics if against_metrics is None else against_metrics
        old_top1 = old_metrics.get(selectors.SELECTION_TOP1)
        old_alignment = old_metrics.get(key) if key else None
        # a partner model with no validation top-1 (trained before selection was honest) is not
        # compared with: the first promotion's floor applies instead
        floor = selectors.training_setting("MIN_TOP1_FIRST_PROMOTION") if old_top1 is None else old_top1
        accuracy_holds = top1 is not None and top1 >= floor
        alignment_holds = old_alignment is None or (alignment is not None and alignment >= old_alignment)
        promote = accuracy_holds and alignment_holds
        details = {
            "against": current.name,
            "against_numbers": "stored when it was trained"
            if against_metrics is None
            else "measured now on this job's validation split",
            "old_val_top1": old_top1,
            "old_alignment": old_alignment,
            "reason": "validation accuracy and alignment do not fall"
            if promote
            else ("validation accuracy fell" if not accuracy_holds else "validation alignment fell"),
        }
    decision.update(details)
    if promote:
        try:
            model_promote(version=version)
        except (ServiceError, ValueError, OSError) as error:
            log.warning("promotion of %s refused: %s", version.name, error)
            promote = False
            decision["reason"] = f"refused at promotion: {error}"
    decision["promoted"] = bool(promote)
    return decision
