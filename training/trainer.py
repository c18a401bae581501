"""The trainer: CPU or CUDA (bfloat16 autocast, channels_last), one process or several under torchrun
(DistributedDataParallel through the same entry point), a checkpoint every epoch and resume, seeded.
Pure torch: callers pass datasets and callbacks for progress, metrics and cancellation."""

import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from . import metrics
from .losses import clickme_loss
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
    )


def param_groups(model, weight_decay):
    """Weight decay on weights only: not on norms, biases or the attention gains a and m (SCIENCE.md section 4)."""
    decay, no_decay = [], []
    for _name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (no_decay if parameter.ndim <= 1 else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(config, model):
    groups = param_groups(model, config.weight_decay)
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


def train(
    config,
    train_set,
    val_set,
    num_classes,
    *,
    device="cpu",
    checkpoint_dir=None,
    on_progress=None,
    on_epoch=None,
    should_stop=None,
    human_ceiling=None,
    log=print,
    progress_bar=None,
):
    """Train `config.arch` on `train_set`, evaluating on `val_set` after every epoch.
    Resumes from checkpoint_dir/last.pt when it holds a run of the same config. Returns (model, history)."""
    device = torch.device(device)
    distributed, rank, device = _distributed_setup(device)
    seed_everything(config.seed + rank)
    model = net_for(config, num_classes).to(device)
    channels_last = device.type == "cuda"
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(config, model)
    history, start_epoch = [], 0
    checkpoint = Path(checkpoint_dir) / "last.pt" if checkpoint_dir else None
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        if state.get("config") == config.to_dict():
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            history, start_epoch = state["history"], state["epoch"]
            torch.set_rng_state(state["rng"])
            log(f"resumed from {checkpoint} after epoch {start_epoch}")
    wrapped = (
        DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        if distributed
        else model
    )
    sampler = DistributedSampler(train_set, shuffle=True, seed=config.seed) if distributed else None
    generator = torch.Generator().manual_seed(config.seed)
    loader = DataLoader(
        train_set,
        batch_size=config.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        drop_last=len(train_set) > config.batch_size,
        num_workers=config.num_workers,
        generator=generator,
        pin_memory=device.type == "cuda",
    )
    steps_per_epoch = max(len(loader), 1)
    for epoch in range(start_epoch, config.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        wrapped.train()
        started, sums, count = time.monotonic(), {"loss": 0.0, "ce": 0.0, "attention": 0.0, "correct": 0}, 0
        for step, batch in enumerate(loader):
            if should_stop is not None and should_stop():
                raise TrainingCancelled()
            for group in optimizer.param_groups:
                group["lr"] = config.effective_lr * lr_factor(config, epoch + step / steps_per_epoch)
            images, labels, maps, has_map = _to_device(batch, device, channels_last)
            with _autocast(device):
                logits, attention = wrapped(images)
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
            if on_progress is not None and rank == 0:
                on_progress((epoch + (step + 1) / steps_per_epoch) / config.epochs)
            if progress_bar is not None and rank == 0:
                progress_bar.update(1)
                progress_bar.set_postfix(loss=f"{float(loss.detach()):.3f}", epoch=epoch + 1)
        if rank != 0:
            continue
        record = {
            "epoch": epoch + 1,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": time.monotonic() - started,
            "train_loss": sums["loss"] / max(count, 1),
            "train_ce": sums["ce"] / max(count, 1),
            "train_attention": sums["attention"] / max(count, 1),
            "train_top1": sums["correct"] / max(count, 1),
        }
        if val_set is not None and len(val_set):
            evaluation = evaluate(
                model, val_set, device, human_ceiling=human_ceiling, max_saliency_images=config.max_saliency_images
            )
            record.update({f"val_{k}": v for k, v in evaluation.items()})
        history.append(record)
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            partial = checkpoint.with_suffix(".partial")
            torch.save(
                {
                    "config": config.to_dict(),
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "history": history,
                    "epoch": epoch + 1,
                    "rng": torch.get_rng_state(),
                    "num_classes": num_classes,
                    "arch": config.arch,
                },
                partial,
            )
            os.replace(partial, checkpoint)  # a crash mid-save never leaves a broken checkpoint
        if on_epoch is not None:
            on_epoch(record)
    if distributed:
        dist.destroy_process_group()
    return model, history
