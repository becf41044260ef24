"""glibc allocator settings for the command-line tools (not applied by the library itself).

PyTorch's CPU allocator frees every temporary tensor. With glibc's default thresholds, the blocks
of a few hundred KiB to a few MiB that batched image ops allocate are unmapped or trimmed when
freed and faulted in again, page by page, on the next allocation; on virtual machines a page fault
costs microseconds, which then dominates small-image tensor code (BatchedAugMix on CPU at 32x32
runs about 1.7x faster with the settings below; results/benchmarks/bench_augment_cpu*.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

#: glibc ``mallopt`` parameters (malloc.h) and the values ``keep_freed_memory`` sets.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 1 << 30
#: Setting this environment variable to 1 keeps glibc's defaults.
OPT_OUT = "AUGMIX_SYSTEM_MALLOC"


def keep_freed_memory() -> str:
    """Ask glibc to keep freed memory for reuse instead of returning it to the kernel.

    Sets ``mallopt`` in this process and the ``MALLOC_*_`` environment variables that glibc reads
    at start-up, so spawned processes (DDP ranks, data-loader workers) get the same. Returns a
    description of what was set; ``"system default"`` where glibc is absent or ``AUGMIX_SYSTEM_MALLOC=1``.
    """
    name = ctypes.util.find_library("c")
    if os.environ.get(OPT_OUT) == "1" or platform.system() != "Linux" or name is None:
        return "system default"
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt"):
        return "system default"
    libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(MMAP_THRESHOLD))
    os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", str(TRIM_THRESHOLD))
    return f"glibc mallopt M_MMAP_THRESHOLD={MMAP_THRESHOLD}, M_TRIM_THRESHOLD={TRIM_THRESHOLD}"
