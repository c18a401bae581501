"""What a training job's process does (`manage.py train`: the worker's child process, or a foreground
run): read the data, train with progress, cancellation and per-epoch records, report the test split
once at the end, register the model and, for scheduled jobs, decide its promotion. Imports torch."""

import logging
import os
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import torch
from django.utils import timezone

from . import checkpoints, plots, registry, selectors
from .config import ConfigError, TrainConfig
from .datasets import ClickMeDataset, Sample
from .files import CURVES_FILE, MODEL_CHECKPOINT_FILE, job_dir, stored_path
from .models import ModelVersion, TrainingJob
from .trainer import TrainingCancelled, evaluate, net_for, train

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 2.0


def _throttled_progress(job_id: UUID | str) -> Callable[[float], None]:
    last = [0.0]

    def update(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or fraction >= 1.0:
            last[0] = now
            TrainingJob.objects.filter(pk=job_id).update(
                progress=round(min(fraction, 1.0), 4), heartbeat_at=timezone.now()
            )

    return update


def _cancel_check(job_id: UUID | str) -> Callable[[], bool]:
    last: list[Any] = [0.0, False]

    def should_stop() -> bool:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            last[1] = TrainingJob.objects.filter(pk=job_id, cancel_requested=True).exists()
        return last[1]

    return should_stop


def _epoch_recorder(job_id: UUID | str, echo: Callable[[str], Any]) -> Callable[[dict[str, Any]], None]:
    def on_epoch(record: dict[str, Any]) -> None:
        job_now = TrainingJob.objects.get(pk=job_id)
        TrainingJob.objects.filter(pk=job_id).update(
            history=[*job_now.history, record], metrics=record, heartbeat_at=timezone.now()
        )
        echo(
            f"epoch {record['epoch']}: " + ", ".join(f"{k} {v:.4g}" for k, v in record.items() if isinstance(v, float))
        )

    return on_epoch


def _dataset(rows: list[tuple[str, int, Any]], config: TrainConfig, *, augment: bool) -> ClickMeDataset:
    return ClickMeDataset([Sample(*row) for row in rows], config.image_size, augment=augment)


def _test_report(model: torch.nn.Module, splits: selectors.TrainingSplits, config: TrainConfig, device: str):
    """The test split's numbers, read once after training for reporting (selection never sees them)."""
    if not splits.rows["test"]:
        return {}
    final = evaluate(
        model,
        _dataset(splits.rows["test"], config, augment=False),
        torch.device(device),
        human_ceiling=splits.human_ceiling,
        max_saliency_images=config.max_saliency_images,
    )
    return {f"test_{k}": v for k, v in final.items()}


def _other_rank_train(job_id: UUID | str, config: TrainConfig, device: str) -> None:
    """Another rank of a torchrun launch: train beside rank 0, which alone records the job and
    saves the resume state (read here too, so a restarted launch resumes every rank alike)."""
    splits = selectors.training_splits(lambda_clickme=config.lambda_clickme)
    train(
        config,
        _dataset(splits.rows["train"], config, augment=True),
        None,
        len(splits.categories),
        device=device,
        checkpoint_dir=job_dir(job_id),
        log=lambda *a: None,
    )


def _model_keep(
    *, job_id: UUID | str, config: TrainConfig, model: torch.nn.Module, history: list, metrics: dict, splits
) -> ModelVersion:
    """Save the final checkpoint and the curves, and register them as a ModelVersion."""
    directory = job_dir(job_id)
    checkpoint = checkpoints.model_save(
        directory / MODEL_CHECKPOINT_FILE,
        config=config.to_dict(),
        arch=config.arch,
        model=model,
        num_classes=len(splits.categories),
        categories=splits.categories_json(),
    )
    curves = plots.curves_png(history, directory / CURVES_FILE) if history else None
    return registry.model_register(
        job_id=job_id,
        config=config.to_dict(),
        metrics=metrics,
        categories=splits.categories_json(),
        checkpoint=checkpoint,
        curves=curves,
    )


def _partner_model_validation(
    version: ModelVersion, splits: selectors.TrainingSplits, device: str
) -> dict[str, Any] | None:
    """The partner's model evaluated on this job's validation images and maps, so that promotion
    compares two models on one split; None when it cannot be (no such model, its categories differ,
    its checkpoint is gone or does not load)."""
    current = selectors.partner_model_version(exclude=version)
    if current is None:
        return None
    try:
        state = checkpoints.model_read(stored_path(current.checkpoint))
        if [c["id"] for c in state["categories"]] != [c.id for c in splits.categories]:
            return None
        config = TrainConfig(**state["config"])
        net = net_for(config, state["num_classes"])
        net.load_state_dict(state["state_dict"])
    except (ValueError, OSError, TypeError, KeyError, RuntimeError) as error:
        log.warning("the partner's model %s cannot be evaluated again: %s", current.name, error)
        return None
    evaluation = evaluate(
        net.to(device),
        _dataset(splits.rows["val"], config, augment=False),
        torch.device(device),
        human_ceiling=splits.human_ceiling,
        max_saliency_images=config.max_saliency_images,
    )
    return {f"val_{k}": v for k, v in evaluation.items()}


def job_execute(
    *,
    job_id: UUID | str,
    device: str | None = None,
    progress_bar: Any = None,
    echo: Callable[[str], Any] = print,
) -> ModelVersion | None:
    """Train the job's config in this process; the job ends done (with its model), cancelled or
    failed with the reason (and the error is raised again)."""
    job = TrainingJob.objects.get(pk=job_id)
    config = TrainConfig(**job.config)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if int(os.environ.get("RANK", "0")) != 0:
        _other_rank_train(job_id, config, device)
        return None
    TrainingJob.objects.filter(pk=job_id).update(
        status=TrainingJob.Status.RUNNING, started_at=timezone.now(), device=device, error=""
    )
    try:
        splits = selectors.training_splits(lambda_clickme=config.lambda_clickme)
        n_train = len(splits.rows["train"])
        if config.batch_size > n_train:
            raise ConfigError("batch_size", f"{config.batch_size} is more than the {n_train} training images")
        train_set = _dataset(splits.rows["train"], config, augment=True)
        if progress_bar is not None:
            progress_bar.reset(total=config.epochs * max(len(train_set) // config.batch_size, 1))
        model, history = train(
            config,
            train_set,
            _dataset(splits.rows["val"], config, augment=False),
            len(splits.categories),
            device=device,
            checkpoint_dir=job_dir(job_id),
            on_progress=_throttled_progress(job_id),
            on_epoch=_epoch_recorder(job_id, echo),
            should_stop=_cancel_check(job_id),
            human_ceiling=splits.human_ceiling,
            log=echo,
            progress_bar=progress_bar,
        )
        metrics = {
            **(history[-1] if history else {}),
            **_test_report(model, splits, config, device),
            "human_ceiling": splits.human_ceiling,
        }
        version = _model_keep(
            job_id=job_id, config=config, model=model, history=history, metrics=metrics, splits=splits
        )
        decision = (
            registry.promotion_decide(
                version=version, against_metrics=_partner_model_validation(version, splits, device)
            )
            if job.kind == TrainingJob.Kind.SCHEDULED
            else {}
        )
        TrainingJob.objects.filter(pk=job_id).update(
            status=TrainingJob.Status.DONE, progress=1.0, metrics=metrics, decision=decision, finished_at=timezone.now()
        )
        return version
    except TrainingCancelled:
        TrainingJob.objects.filter(pk=job_id).update(status=TrainingJob.Status.CANCELLED, finished_at=timezone.now())
    except Exception as error:
        log.exception("training job %s failed", job_id)
        TrainingJob.objects.filter(pk=job_id).update(
            status=TrainingJob.Status.FAILED, finished_at=timezone.now(), error=f"{type(error).__name__}: {error}"
        )
        raise
    return None
