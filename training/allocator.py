"""Keeping freed memory inside a training process (glibc's malloc), pure: ctypes only, no torch, no Django.

A CPU training step allocates and frees hundreds of activation and gradient buffers of 10-400 MB.
glibc serves every block above its mmap threshold (at most 32 MB) with a fresh mmap and gives it back
to the kernel on free, and trims the heap's top above 128 KB: every step the kernel faults in and
zeroes the same memory again. On a 2-core machine that was a third of a ResNet-50 step at batch 32
(sys 3.5 s of 8.2 s CPU, 1.9 million page faults per step; bench/README.md "train_step.py").

`keep_freed_memory()` turns both off for the calling process: no mmap'd chunks (large blocks come
from the heap) and no trimming, so freed blocks are reused by the next step. The process's resident
memory then stays at its peak, which is what a dedicated training process wants and what a
long-lived web or map worker does not: only training entry points call it (`manage.py train`, the
demo partner's and the experiment's commands, the benchmark). It does nothing off glibc.
"""

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

# glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
_NEVER_TRIM = 2**31 - 1  # an int; glibc takes it as "trim only above 2 GiB of free top"

_applied = False


def keep_freed_memory() -> bool:
    """Make this process's glibc malloc keep freed memory for reuse; True when it now does (also
    when an earlier call already did), False off glibc or when mallopt refuses."""
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; both must hold, or freed blocks still go back to the kernel.
    if mallopt(M_MMAP_MAX, 0) != 1 or mallopt(M_TRIM_THRESHOLD, _NEVER_TRIM) != 1:
        log.warning("mallopt refused: freed memory still goes back to the kernel")
        return False
    _applied = True
    return True
