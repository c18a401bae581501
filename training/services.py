"""Writes of the training app: submitting, running and cancelling jobs, registering and promoting models."""

import logging
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotations.models import ClickMap
from annotations.services import npy_array
from clickme_site.private_files import private_path, private_root
from game.models import Category, Image
from game.partner_registry import partner_register

from .config import ConfigError, TrainConfig, config_from_dict
from .datasets import MEAN, STD, ClickMeDataset, Sample
from .models import ModelVersion, TrainingJob
from .partner_export import partner_export
from .trainer import TrainingCancelled, evaluate, net_for, train

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 2.0
JOB_LEASE = timedelta(minutes=30)  # a running job silent for this long was lost with its worker


class TrainingDataError(ValueError):
    """The database holds no images (or no maps) to train on."""


def _maps_in_memory(image_ids):
    """{image id: map as float16}, read here: DataLoader worker processes must not share the
    parent's database connection (half the size of float32, and ample for a training target)."""
    rows = ClickMap.objects.filter(image_id__in=image_ids).values_list("image_id", "data").iterator(chunk_size=200)
    return {image_id: npy_array(data).astype(np.float16) for image_id, data in rows}


def training_data(config):
    """Samples of the train, val and test splits, the categories in output order and the human ceiling."""
    categories = list(Category.objects.filter(images__split="train", images__active=True).distinct().order_by("id"))
    if len(categories) < 2:
        raise TrainingDataError("no training images: import images of at least two categories first")
    label_of = {c.id: i for i, c in enumerate(categories)}
    splits = {}
    for split in ("train", "val", "test"):
        images = list(Image.objects.filter(split=split, active=True, category__in=categories).order_by("id"))
        maps = _maps_in_memory([image.id for image in images])
        splits[split] = [Sample(image.file.path, label_of[image.category_id], maps.get(image.id)) for image in images]
    if config.lambda_clickme > 0 and not any(s.clickmap is not None for s in splits["train"]):
        raise TrainingDataError("no ClickMe maps for the training images: lambda_clickme > 0 needs maps")
    rhos = list(ClickMap.objects.filter(split_half_rho__isnull=False).values_list("split_half_rho", flat=True))
    ceiling = float(np.mean(rhos)) if rhos else None
    return splits, categories, ceiling


def n_training_images():
    return Image.objects.filter(split="train", active=True).count()


def job_submit(raw_config, user=None, kind=TrainingJob.Kind.MANUAL):
    """Validate the config (ConfigError naming the key) and queue the job on the `training` queue after commit."""
    config = config_from_dict(raw_config, n_train_images=n_training_images())
    job = TrainingJob.objects.create(config=config.to_dict(), requested_by=user, kind=kind)
    from .tasks import training_job_run

    transaction.on_commit(lambda: training_job_run.delay(str(job.id)))
    return job


def jobs_reap_lost(now=None):
    """Running jobs whose process has been silent past the lease fail with that reason."""
    now = now or timezone.now()
    return TrainingJob.objects.filter(status=TrainingJob.Status.RUNNING, heartbeat_at__lt=now - JOB_LEASE).update(
        status=TrainingJob.Status.FAILED,
        finished_at=now,
        error=f"no sign of life for {JOB_LEASE}: the worker running it was lost",
    )


def job_cancel(job):
    """A queued job is cancelled at once; a running one when its process notices (within seconds)."""
    TrainingJob.objects.filter(pk=job.pk, status=TrainingJob.Status.QUEUED).update(
        status=TrainingJob.Status.CANCELLED, cancel_requested=True, finished_at=timezone.now()
    )
    TrainingJob.objects.filter(pk=job.pk, status=TrainingJob.Status.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def job_dir(job_id):
    return private_path("training", str(job_id))


def job_run(job_id, poll_s=1.0):
    """What the worker does: run the job in a child process, so a crash, an out-of-memory kill or a
    cancel never takes the worker down; watch for cancellation; record how it ended."""
    stale = timezone.now() - JOB_LEASE
    claimable = Q(status=TrainingJob.Status.QUEUED) | Q(status=TrainingJob.Status.RUNNING, heartbeat_at__lt=stale)
    if not TrainingJob.objects.filter(claimable, pk=job_id).update(
        status=TrainingJob.Status.RUNNING, heartbeat_at=timezone.now()
    ):
        return  # cancelled, finished, or run by a live process: safe to deliver twice
    # (a job whose worker was lost is taken over here and resumes from its last checkpoint)
    directory = job_dir(job_id)
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / "log.txt"
    manage = Path(settings.BASE_DIR) / "manage.py"
    with open(log_path, "ab") as log_file:
        child = subprocess.Popen(
            [sys.executable, str(manage), "train", "--job", str(job_id)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
            start_new_session=True,
        )
        while child.poll() is None:
            time.sleep(poll_s)
            if TrainingJob.objects.filter(pk=job_id, cancel_requested=True).exists():
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
                TrainingJob.objects.filter(pk=job_id).exclude(status=TrainingJob.Status.DONE).update(
                    status=TrainingJob.Status.CANCELLED, finished_at=timezone.now()
                )
                return
    if child.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        reason = f"killed by signal {-child.returncode}" if child.returncode < 0 else f"exit code {child.returncode}"
        TrainingJob.objects.filter(
            pk=job_id, status__in=[TrainingJob.Status.QUEUED, TrainingJob.Status.RUNNING]
        ).update(
            status=TrainingJob.Status.FAILED,
            error=f"the training process died ({reason}):\n{tail}",
            finished_at=timezone.now(),
        )


def _throttled_progress(job_id):
    last = [0.0]

    def update(fraction):
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or fraction >= 1.0:
            last[0] = now
            TrainingJob.objects.filter(pk=job_id).update(
                progress=round(min(fraction, 1.0), 4), heartbeat_at=timezone.now()
            )

    return update


def _cancel_check(job_id):
    last = [0.0, False]

    def should_stop():
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            last[1] = TrainingJob.objects.filter(pk=job_id, cancel_requested=True).exists()
        return last[1]

    return should_stop


def job_execute(job_id, device=None, progress_bar=None, echo=print):
    """Train the job's config in this process (the `train` command, and the worker's child process)."""
    job = TrainingJob.objects.get(pk=job_id)
    config = TrainConfig(**job.config)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if int(os.environ.get("RANK", "0")) != 0:
        # Another rank of a torchrun launch: train beside rank 0, which alone records the job.
        splits, categories, ceiling = training_data(config)
        train(
            config,
            ClickMeDataset(splits["train"], config.image_size, augment=True),
            None,
            len(categories),
            device=device,
            log=lambda *a: None,
        )
        return None
    TrainingJob.objects.filter(pk=job_id).update(
        status=TrainingJob.Status.RUNNING, started_at=timezone.now(), device=device, error=""
    )
    try:
        splits, categories, ceiling = training_data(config)
        if config.batch_size > len(splits["train"]):
            raise ConfigError(
                "batch_size", f"{config.batch_size} is more than the {len(splits['train'])} training images"
            )
        train_set = ClickMeDataset(splits["train"], config.image_size, augment=True)
        val_set = ClickMeDataset(splits["val"], config.image_size, augment=False) if splits["val"] else None

        def on_epoch(record):
            job_now = TrainingJob.objects.get(pk=job_id)
            TrainingJob.objects.filter(pk=job_id).update(
                history=[*job_now.history, record], metrics=record, heartbeat_at=timezone.now()
            )
            echo(
                f"epoch {record['epoch']}: "
                + ", ".join(f"{k} {v:.4g}" for k, v in record.items() if isinstance(v, float))
            )

        if progress_bar is not None:
            progress_bar.reset(total=config.epochs * max(len(train_set) // config.batch_size, 1))
        model, history = train(
            config,
            train_set,
            val_set,
            len(categories),
            device=device,
            checkpoint_dir=job_dir(job_id),
            on_progress=_throttled_progress(job_id),
            on_epoch=on_epoch,
            should_stop=_cancel_check(job_id),
            human_ceiling=ceiling,
            log=echo,
            progress_bar=progress_bar,
        )
        test = splits["test"] or splits["val"]
        final = (
            evaluate(
                model,
                ClickMeDataset(test, config.image_size, augment=False),
                torch.device(device),
                human_ceiling=ceiling,
                max_saliency_images=config.max_saliency_images,
            )
            if test
            else {}
        )
        metrics = {
            **(history[-1] if history else {}),
            **{f"test_{k}": v for k, v in final.items()},
            "human_ceiling": ceiling,
        }
        version = model_register(job_id, config, model, history, metrics, categories)
        decision = {}
        if job.kind == TrainingJob.Kind.SCHEDULED:
            from .scheduling import promotion_decide

            decision = promotion_decide(version)
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


def curves_png(history, path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    epochs = [r["epoch"] for r in history]
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=100)
    left.plot(epochs, [r["train_loss"] for r in history], label="train loss")
    left.plot(epochs, [r["train_ce"] for r in history], label="train cross-entropy")
    left.plot(epochs, [r["train_attention"] for r in history], label="train attention term")
    left.set_xlabel("epoch")
    left.legend(fontsize=8)
    for key, label in (
        ("train_top1", "train top-1"),
        ("val_top1", "val top-1"),
        ("val_attention_rho", "val attention rho"),
        ("val_saliency_rho", "val saliency rho"),
    ):
        values = [r.get(key) for r in history]
        if any(v is not None for v in values):
            right.plot(epochs, [np.nan if v is None else v for v in values], label=label)
    right.set_xlabel("epoch")
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def model_register(job_id, config, model, history, metrics, categories):
    """Keep the final checkpoint, the curves and the metrics as a ModelVersion."""
    directory = job_dir(job_id)
    directory.mkdir(parents=True, exist_ok=True)
    checkpoint = directory / "model.pt"
    torch.save(
        {
            "format": "clickme-checkpoint/1",
            "arch": config.arch,
            "config": config.to_dict(),
            "num_classes": len(categories),
            "state_dict": model.state_dict(),
            "categories": [{"id": c.id, "wnid": c.wnid, "name": c.name} for c in categories],
        },
        checkpoint,
    )
    curves = directory / "curves.png"
    if history:
        curves_png(history, curves)
    media = private_root().resolve()
    return ModelVersion.objects.create(
        name=f"{config.arch}-{timezone.now():%Y%m%d-%H%M%S}-{str(job_id)[:8]}",
        arch=config.arch,
        config=config.to_dict(),
        metrics=metrics,
        checkpoint=str(checkpoint.relative_to(media)),
        curves=str(curves.relative_to(media)) if history else "",
        categories=[{"id": c.id, "wnid": c.wnid, "name": c.name} for c in categories],
        job_id=job_id,
        n_maps_at_training=ClickMap.objects.count(),
    )


class LogitsOnly(torch.nn.Module):
    """The partner artifact's program: logits alone."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)[0]


def load_checkpoint(path):
    """(net, state) from a ClickMe checkpoint; ValueError when the file is not one."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise ValueError(f"{path} is not a ClickMe checkpoint: {error}") from error
    if not isinstance(state, dict) or state.get("format") != "clickme-checkpoint/1":
        raise ValueError(f"{path} is not a ClickMe checkpoint")
    net = net_for(TrainConfig(**state["config"]), state["num_classes"])
    net.load_state_dict(state["state_dict"])
    return net.eval(), state


def model_promote(version):
    """Export the model as a partner artifact and make it the game's partner (picked up without a restart)."""
    net, state = load_checkpoint(private_path(version.checkpoint))
    size = state["config"]["image_size"]
    artifact = partner_export(
        LogitsOnly(net),
        job_dir(version.job_id or version.pk) / "partner.pt2",
        categories=[{"wnid": c["wnid"], "name": c["name"]} for c in state["categories"]],
        input_size=size,
        mean=MEAN,
        std=STD,
        architecture=version.arch,
        metrics=version.metrics,
    )
    partner = partner_register(name=f"model-{version.name}"[:200], weights_path=artifact, activate=True)
    version.partner = partner
    version.save(update_fields=["partner"])
    return version
