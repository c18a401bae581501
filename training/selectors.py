"""Reads of the training app: jobs a user may see, models, the best config so far, the data a job
trains on. Selection reads validation metrics only: the test split is for reporting (docs/SCIENCE.md)."""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from annotations.map_encoding import npy_array
from annotations.models import ClickMap
from game.models import Category, Image

from .files import curves_name
from .models import ModelVersion, TrainingJob

SPLITS = ("train", "val", "test")
SELECTION_SPLIT = "val"
SELECTION_TOP1 = "val_top1"
# the first of these a model reports is its alignment for promotion (validation only, never test)
SELECTION_ALIGNMENTS = ("val_attention_alignment", "val_saliency_alignment", "val_attention_rho", "val_saliency_rho")


class TrainingDataError(ValueError):
    """The database holds nothing a job could honestly train and select on (no images, no maps,
    no validation split)."""


@dataclass
class TrainingSplits:
    """The rows a job trains, validates and reports on: per split, (image path, label, map or None)."""

    categories: list[Category]
    rows: dict[str, list[tuple[str, int, np.ndarray | None]]] = field(default_factory=dict)
    human_ceiling: float | None = None

    def categories_json(self) -> list[dict[str, Any]]:
        return [{"id": c.id, "wnid": c.wnid, "name": c.name} for c in self.categories]


def training_setting(name: str) -> Any:
    return settings.CLICKME_TRAINING[name]


def jobs_visible_to(*, user: User | AnonymousUser) -> QuerySet[TrainingJob]:
    """Staff see every job; a researcher only the jobs they asked for."""
    jobs = TrainingJob.objects.order_by("-created_at")
    return jobs if user.is_staff else jobs.filter(requested_by_id=user.pk)


def job_visible_to(*, user: User | AnonymousUser, job_id: Any) -> TrainingJob | None:
    return jobs_visible_to(user=user).filter(pk=job_id).first()


def model_versions() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.select_related("partner").order_by("-created_at")


def model_versions_visible_to(*, user: User | AnonymousUser) -> QuerySet[ModelVersion]:
    """Staff see every model; a researcher the models of their own jobs, and every model that was
    promoted to be the game's partner (it plays with everyone; docs/API.md)."""
    versions = model_versions()
    return versions if user.is_staff else versions.filter(Q(job__requested_by_id=user.pk) | Q(partner__isnull=False))


def job_curves_visible_to(*, user: User | AnonymousUser, job_id: Any) -> bool:
    """Whether `user` may see job `job_id`'s training curves: as its job (staff, its researcher), or
    as those of a promoted model's."""
    if job_visible_to(user=user, job_id=job_id) is not None:
        return True
    return ModelVersion.objects.filter(curves=curves_name(job_id), partner__isnull=False).exists()


def model_version_get(*, version_id: Any) -> ModelVersion | None:
    return model_versions().filter(pk=version_id).first()


def model_version_of_job(*, job: TrainingJob) -> ModelVersion | None:
    return ModelVersion.objects.filter(job=job).first()


def partner_model_version(*, exclude: ModelVersion | None = None) -> ModelVersion | None:
    """The model the game's active partner was promoted from, if the partner is a trained model."""
    versions = ModelVersion.objects.filter(partner__is_active=True)
    if exclude is not None:
        versions = versions.exclude(pk=exclude.pk)
    return versions.first()


def validation_alignment(metrics: dict[str, Any]) -> tuple[str | None, float | None]:
    """(key, value) of the first validation alignment `metrics` reports."""
    for key in SELECTION_ALIGNMENTS:
        if metrics.get(key) is not None:
            return key, metrics[key]
    return None, None


def best_config() -> dict[str, Any]:
    """The config of the model with the best validation top-1 (never test), or the default config."""
    ranked = [v for v in ModelVersion.objects.all() if v.metrics.get(SELECTION_TOP1) is not None]
    if not ranked:
        return dict(training_setting("DEFAULT_CONFIG"))
    return dict(max(ranked, key=lambda v: (v.metrics[SELECTION_TOP1], v.created_at)).config)


def scheduled_job_pending() -> bool:
    return TrainingJob.objects.filter(
        kind=TrainingJob.Kind.SCHEDULED, status__in=[TrainingJob.Status.QUEUED, TrainingJob.Status.RUNNING]
    ).exists()


def maps_new_since_last_model() -> int:
    last = ModelVersion.objects.order_by("-created_at").first()
    new_maps = ClickMap.objects.filter(updated_at__gt=last.created_at) if last else ClickMap.objects.all()
    return new_maps.count()


def n_maps() -> int:
    return ClickMap.objects.count()


def n_training_images() -> int:
    return Image.objects.filter(split="train", active=True).count()


def training_categories() -> list[Category]:
    """The categories with active training images, in the networks' output order."""
    return list(Category.objects.filter(images__split="train", images__active=True).distinct().order_by("id"))


def validation_split_missing(categories: list[Category] | None = None) -> str | None:
    """Why a job cannot be selected honestly (no validation images of its categories), or None."""
    categories = training_categories() if categories is None else categories
    if Image.objects.filter(split=SELECTION_SPLIT, active=True, category__in=categories).exists():
        return None
    return (
        "no validation split: models are compared and promoted on validation images only (never on test); "
        "import images with split 'val' for the training categories"
    )


def _maps_in_memory(image_ids: list[int]) -> dict[int, np.ndarray]:
    """{image id: map as float16}, read here: DataLoader worker processes must not share the
    parent's database connection (half the size of float32, and ample for a training target)."""
    rows = ClickMap.objects.filter(image_id__in=image_ids).values_list("image_id", "data").iterator(chunk_size=200)
    return {image_id: npy_array(data).astype(np.float16) for image_id, data in rows}


def training_splits(*, lambda_clickme: float) -> TrainingSplits:
    """The train, val and test rows, the categories in output order and the human ceiling (mean
    split-half rho); TrainingDataError saying what is missing."""
    categories = training_categories()
    if len(categories) < 2:
        raise TrainingDataError("no training images: import images of at least two categories first")
    missing = validation_split_missing(categories)
    if missing:
        raise TrainingDataError(missing)
    label_of = {c.id: i for i, c in enumerate(categories)}
    splits = TrainingSplits(categories=categories)
    for split in SPLITS:
        images = list(Image.objects.filter(split=split, active=True, category__in=categories).order_by("id"))
        maps = _maps_in_memory([image.id for image in images])
        splits.rows[split] = [(image.file.path, label_of[image.category_id], maps.get(image.id)) for image in images]
    if lambda_clickme > 0 and not any(the_map is not None for _path, _label, the_map in splits.rows["train"]):
        raise TrainingDataError("no ClickMe maps for the training images: lambda_clickme > 0 needs maps")
    rhos = [
        rho
        for rho in ClickMap.objects.filter(split_half_rho__isnull=False).values_list("split_half_rho", flat=True)
        if rho is not None
    ]
    splits.human_ceiling = float(np.mean(rhos)) if rhos else None
    return splits
