"""The trainer under torchrun (DistributedDataParallel, gloo on CPU): the same entry point, ranks in sync."""

import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]


def test_two_processes_under_torchrun_train_one_model(tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    result = subprocess.run(
        [
            str(torchrun),
            "--standalone",
            "--nproc_per_node",
            "2",
            str(ROOT / "tests/training/ddp_entry.py"),
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    first, second = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert first["epochs"] == 2 and second["epochs"] == 0  # rank 0 alone records epochs
    for name, tensor in first["state"].items():
        if tensor.is_floating_point() and "running" not in name:
            assert torch.allclose(tensor, second["state"][name], atol=1e-6), name
