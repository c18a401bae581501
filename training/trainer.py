"""The trainer: CPU or CUDA (bfloat16 autocast, channels_last), one process or several under torchrun
(DistributedDataParallel through the same entry point), a checkpoint every epoch and an exact resume,
seeded. `train` runs the steps in order: run_setup, train_loader, then per epoch train_one_epoch,
validate and checkpoint_save. Pure torch: callers pass datasets and callbacks for progress, metrics
and cancellation."""

import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from . import checkpoints, metrics
from .config import TrainConfig
from .losses import clickme_loss
from .nets.gala import GALA
from .nets.resnets import build_net


class TrainingCancelled(Exception):
    """should_stop() answered True."""


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def net_for(config, num_classes):
    return build_net(
        config.arch,
        num_classes,
        stages=tuple(config.stages),
        reduction=config.reduction,
        squash=config.squash,
        local_5x5=config.local_5x5,
        global_relu=config.global_relu,
        gain_init=config.gain_init,
    )


def param_groups(model, weight_decay, attention_weight_decay=True):
    """[decayed, not decayed]: weight decay on weights only, never on norms, biases or the attention
    gains a and m (1-D parameters; docs/SCIENCE.md section 4). With attention_weight_decay=False (gala_tpu)
    no parameter of an attention module (GALA or SE: its convs and linear layers too) is decayed."""
    spared: set[int] = set()
    if not attention_weight_decay:
        spared = {id(p) for module in model.modules() if isinstance(module, GALA) for p in module.parameters()}
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for parameter in model.parameters():
        if parameter.requires_grad:
            (no_decay if parameter.ndim <= 1 or id(parameter) in spared else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(config, model):
    groups = param_groups(model, config.weight_decay, config.attention_weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.effective_lr, momentum=config.momentum, nesterov=True)
    return torch.optim.AdamW(groups, lr=config.effective_lr)


def lr_factor(config, epoch_position):
    """Linear warm-up, then cosine to zero (small runs) or x0.1 at epochs 30, 60 and 80 (ImageNet scale)."""
    if config.warmup_epochs and epoch_position < config.warmup_epochs:
        return (epoch_position + 1e-3) / config.warmup_epochs
    if config.schedule == "step":
        return 0.1 ** sum(epoch_position >= m for m in (30, 60, 80))
    span = max(config.epochs - config.warmup_epochs, 1e-9)
    return 0.5 * (1 + math.cos(math.pi * min((epoch_position - config.warmup_epochs) / span, 1.0)))


def _autocast(device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def _to_device(batch, device, channels_last):
    images, labels, maps, has_map = batch
    images = images.to(device, non_blocking=True)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    return images, labels.to(device), maps.to(device), has_map.to(device)


def evaluate(model, dataset, device, batch_size=64, human_ceiling=None, max_saliency_images=200):
    """Top-1/top-5 on `dataset`; attention alignment (GALA layers, mean over layers) and saliency
    alignment on its images with maps, raw (mean rho) and normalised by the human ceiling."""
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    top1 = top5 = n = 0
    attention_rhos, saliency_rhos = [], []
    saliency_budget = max_saliency_images
    for images, labels, maps, has_map in loader:
        images, labels, maps, has_map = _to_device((images, labels, maps, has_map), device, device.type == "cuda")
        with torch.no_grad(), _autocast(device):
            logits, attention = model(images)
        top1 += int(metrics.top_k_correct(logits, labels, 1).sum())
        top5 += int(metrics.top_k_correct(logits, labels, 5).sum())
        n += len(labels)
        if bool(has_map.any()):
            with_maps = maps[has_map].float().cpu().numpy()
            if attention:
                per_layer = [metrics.attention_alignment(a[has_map], with_maps) for a in attention]
                attention_rhos += list(np.nanmean(np.array(per_layer), axis=0))
            if saliency_budget > 0:
                chosen = has_map.nonzero()[:, 0][:saliency_budget]
                saliency = metrics.saliency_maps(model, images[chosen].float(), labels[chosen])
                saliency_rhos += metrics.saliency_alignment(saliency, maps[chosen].float().cpu().numpy())
                saliency_budget -= len(chosen)
    result = {
        "top1": top1 / max(n, 1),
        "top5": top5 / max(n, 1),
        "n": n,
        "attention_rhos": [float(r) for r in attention_rhos],
    }
    for name, rhos in (("attention", attention_rhos), ("saliency", saliency_rhos)):
        finite = [r for r in rhos if np.isfinite(r)]
        result[f"{name}_rho"] = float(np.mean(finite)) if finite else None
        result[f"{name}_alignment"] = metrics.normalised_alignment(finite, human_ceiling) if finite else None
    return result


def _distributed_setup(device):
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False, 0, device
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    return True, dist.get_rank(), device


@dataclass
class TrainingRun:
    """What the steps of one run share: the model (bare, and wrapped for DDP), its optimizer, where
    it runs, and the epochs done so far."""

    config: TrainConfig
    num_classes: int
    model: torch.nn.Module
    wrapped: torch.nn.Module
    optimizer: torch.optim.Optimizer
    device: torch.device
    rank: int = 0
    distributed: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    start_epoch: int = 0

    @property
    def channels_last(self) -> bool:
        return self.device.type == "cuda"


def run_setup(
    config: TrainConfig, num_classes: int, device: str, *, resume_from: Path | None, log: Callable[[str], Any]
) -> TrainingRun:
    """Step 1: device (and the process group under torchrun), seeds, model and optimizer; then the
    resume state of an earlier run of the same config, when there is one, weights, optimizer,
    history and every random state included, so the run continues as if it had never stopped."""
    distributed, rank, where = _distributed_setup(torch.device(device))
    seed_everything(config.seed + rank)
    model = net_for(config, num_classes).to(where)
    if where.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    run = TrainingRun(config, num_classes, model, model, make_optimizer(config, model), where, rank, distributed)
    state = checkpoints.resume_load(resume_from, config=config.to_dict(), device=where) if resume_from else None
    if state is not None:
        model.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        run.history, run.start_epoch = state["history"], state["epoch"]
        checkpoints.rng_states_restore(state["rng"])
        log(f"resumed from {resume_from} after epoch {run.start_epoch}")
    if distributed:  # wrapped after loading: DDP broadcasts rank 0's (resumed) weights to every rank
        run.wrapped = DistributedDataParallel(model, device_ids=[where.index] if where.type == "cuda" else None)
    return run


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """The seed of one epoch's shuffling (and DataLoader worker seeds): a function of the run's seed,
    the epoch and the rank alone, so a resumed epoch shuffles as it would have uninterrupted."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


def train_loader(config: TrainConfig, train_set: Dataset, run: TrainingRun) -> DataLoader:
    """Step 2: the training batches; the order is drawn per epoch (epoch_shuffle), never carried over."""
    sampler: DistributedSampler | None = (
        DistributedSampler(train_set, shuffle=True, seed=config.seed) if run.distributed else None
    )
    return DataLoader(
        train_set,
        batch_size=config.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        drop_last=len(train_set) > config.batch_size,  # type: ignore[arg-type]  # torch types Dataset without __len__
        num_workers=config.num_workers,
        generator=torch.Generator(),
        pin_memory=run.device.type == "cuda",
    )


def epoch_shuffle(loader: DataLoader, run: TrainingRun, epoch: int) -> None:
    if isinstance(loader.sampler, DistributedSampler):
        loader.sampler.set_epoch(epoch)
    loader.generator.manual_seed(epoch_seed(run.config.seed, epoch, run.rank))


def train_one_epoch(
    run: TrainingRun,
    loader: DataLoader,
    epoch: int,
    *,
    on_progress: Callable[[float], Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress_bar: Any = None,
) -> dict[str, Any]:
    """Step 3: one pass over the batches (learning rate per step, the ClickMe loss of docs/SCIENCE.md
    section 3); returns the epoch's training record. TrainingCancelled when should_stop() says so."""
    config, model, optimizer = run.config, run.wrapped, run.optimizer
    epoch_shuffle(loader, run, epoch)
    model.train()
    started, sums, count = time.monotonic(), {"loss": 0.0, "ce": 0.0, "attention": 0.0, "correct": 0}, 0
    steps_per_epoch = max(len(loader), 1)
    for step, batch in enumerate(loader):
        if should_stop is not None and should_stop():
            raise TrainingCancelled()
        for group in optimizer.param_groups:
            group["lr"] = config.effective_lr * lr_factor(config, epoch + step / steps_per_epoch)
        images, labels, maps, has_map = _to_device(batch, run.device, run.channels_last)
        with _autocast(run.device):
            logits, attention = model(images)
        loss, ce, attn = clickme_loss(
            logits, labels, attention, maps, has_map, config.lambda_clickme, config.label_smoothing
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        size = len(labels)
        sums["loss"] += float(loss.detach()) * size
        sums["ce"] += float(ce.detach()) * size
        sums["attention"] += float(attn.detach()) * size
        sums["correct"] += int((logits.argmax(1) == labels).sum())
        count += size
        if on_progress is not None and run.rank == 0:
            on_progress((epoch + (step + 1) / steps_per_epoch) / config.epochs)
        if progress_bar is not None and run.rank == 0:
            progress_bar.update(1)
            progress_bar.set_postfix(loss=f"{float(loss.detach()):.3f}", epoch=epoch + 1)
    return {
        "epoch": epoch + 1,
        "lr": optimizer.param_groups[0]["lr"],
        "seconds": time.monotonic() - started,
        "train_loss": sums["loss"] / max(count, 1),
        "train_ce": sums["ce"] / max(count, 1),
        "train_attention": sums["attention"] / max(count, 1),
        "train_top1": sums["correct"] / max(count, 1),
    }


def validate(run: TrainingRun, val_set: Dataset, human_ceiling: float | None) -> dict[str, Any]:
    """Step 4: the validation split's numbers, `val_`-prefixed (what selection reads)."""
    evaluation = evaluate(
        run.model,
        val_set,
        run.device,
        human_ceiling=human_ceiling,
        max_saliency_images=run.config.max_saliency_images,
    )
    return {f"val_{k}": v for k, v in evaluation.items()}


def checkpoint_save(run: TrainingRun, path: Path) -> None:
    """Step 5: the resume state after the epochs in run.history."""
    checkpoints.resume_save(
        path,
        config=run.config.to_dict(),
        model=run.model,
        optimizer=run.optimizer,
        history=run.history,
        epoch=len(run.history),
        num_classes=run.num_classes,
        arch=run.config.arch,
    )


def train(
    config: TrainConfig,
    train_set: Dataset,
    val_set: Dataset | None,
    num_classes: int,
    *,
    device: str = "cpu",
    checkpoint_dir: Path | str | None = None,
    on_progress: Callable[[float], Any] | None = None,
    on_epoch: Callable[[dict[str, Any]], Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
    human_ceiling: float | None = None,
    log: Callable[[str], Any] = print,
    progress_bar: Any = None,
) -> tuple[torch.nn.Module, list[dict[str, Any]]]:
    """Train `config.arch` on `train_set`, evaluating on `val_set` after every epoch and saving the
    resume state to checkpoint_dir (resuming from it when it holds a run of the same config).
    Under torchrun rank 0 alone evaluates, saves and reports. Returns (model, history)."""
    resume = checkpoints.resume_path(checkpoint_dir) if checkpoint_dir else None
    run = run_setup(config, num_classes, device, resume_from=resume, log=log)
    loader = train_loader(config, train_set, run)
    for epoch in range(run.start_epoch, config.epochs):
        record = train_one_epoch(
            run, loader, epoch, on_progress=on_progress, should_stop=should_stop, progress_bar=progress_bar
        )
        if run.rank != 0:
            continue
        if val_set is not None and len(val_set):  # type: ignore[arg-type]  # torch types Dataset without __len__
            record.update(validate(run, val_set, human_ceiling))
        run.history.append(record)
        if resume is not None:
            checkpoint_save(run, resume)
        if on_epoch is not None:
            on_epoch(record)
    if run.distributed:
        dist.destroy_process_group()
    return run.model, run.history
