"""Checkpoint files: the resume state written after every epoch (weights, optimizer, history and every
random state a resumed run needs to continue as if never stopped) and a trained model's final
checkpoint. Pure torch: no Django."""

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

RESUME_FILE = "last.pt"
MODEL_FORMAT = "clickme-checkpoint/1"


def resume_path(directory: Path | str) -> Path:
    return Path(directory) / RESUME_FILE


def _atomic_save(state: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    os.replace(partial, path)  # a crash mid-save never leaves a broken checkpoint


def rng_states() -> dict[str, Any]:
    """Every random state the training loop draws from: python, numpy, torch (CPU and CUDA)."""
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def rng_states_restore(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def resume_save(
    path: Path,
    *,
    config: dict[str, Any],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    history: list[dict[str, Any]],
    epoch: int,
    num_classes: int,
    arch: str,
) -> None:
    """The state after `epoch` epochs, taken where the next epoch would start (after evaluation)."""
    _atomic_save(
        {
            "config": config,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "history": history,
            "epoch": epoch,
            "rng": rng_states(),
            "num_classes": num_classes,
            "arch": arch,
        },
        path,
    )


def resume_load(path: Path, *, config: dict[str, Any], device: torch.device) -> dict[str, Any] | None:
    """The resume state at `path` when it exists and belongs to a run of the same config, else None."""
    if not path.exists():
        return None
    state = torch.load(path, map_location=device, weights_only=False)
    if state.get("config") != config:
        return None
    return state


def model_save(
    path: Path,
    *,
    config: dict[str, Any],
    arch: str,
    model: torch.nn.Module,
    num_classes: int,
    categories: list[dict[str, Any]],
) -> Path:
    """A trained model's final checkpoint: its config, weights and categories in output order."""
    _atomic_save(
        {
            "format": MODEL_FORMAT,
            "arch": arch,
            "config": config,
            "num_classes": num_classes,
            "state_dict": model.state_dict(),
            "categories": categories,
        },
        path,
    )
    return path


def model_read(path: Path | str) -> dict[str, Any]:
    """The contents of a model checkpoint; ValueError when the file is not one."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise ValueError(f"{path} is not a ClickMe checkpoint: {error}") from error
    if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path} is not a ClickMe checkpoint")
    return state
