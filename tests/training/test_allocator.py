"""training/allocator.py: a training process keeps freed memory for the next step instead of giving
it back to the kernel (which faults it in and zeroes it again on every step)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from training.allocator import keep_freed_memory

# A child process frees a 128 MiB tensor, then writes a 64 MiB one (torch's CPU allocator): with
# glibc's defaults the second is a fresh mmap (16,384 pages faulted in); kept, it is freed memory.
_CHILD = textwrap.dedent(
    """
    import resource, sys
    import torch
    from training.allocator import keep_freed_memory
    if sys.argv[1] == "kept":
        assert keep_freed_memory() and keep_freed_memory()  # the second call is a no-op that agrees
    buffer = torch.ones(128 * 2**20, dtype=torch.uint8)  # the last step's activations, freed
    del buffer
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    buffer = torch.ones(64 * 2**20, dtype=torch.uint8)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def _faults_of_a_new_64_mib_buffer(mode):
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    return int(out.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_training_process_reuses_freed_memory_instead_of_faulting_it_in_again():
    system, kept = _faults_of_a_new_64_mib_buffer("system"), _faults_of_a_new_64_mib_buffer("kept")
    assert system > 10_000  # 64 MiB of 4 KiB pages (16,384) faulted in again
    assert kept < 1_000


def test_keep_freed_memory_is_idempotent_in_this_process_too(monkeypatch):
    import training.allocator as allocator

    monkeypatch.setattr(allocator, "_applied", True)
    assert keep_freed_memory() is True
    monkeypatch.setattr(allocator, "_applied", False)
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert keep_freed_memory() is False  # off Linux it does nothing and says so
