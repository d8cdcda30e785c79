"""Process-wide tuning of glibc's malloc for a host's traffic of large buffers.

Messages, collectives and state move megabyte buffers through short-lived
``bytes`` objects. By default glibc serves each such allocation with a fresh
``mmap`` and returns it with ``munmap`` when freed (or trims it from a
thread's arena), so every buffer pays a page fault and a zeroing per 4 KiB
page: a 2-rank ``MPI_Alltoall`` of 2 MiB blocks took 5.6 ms, 5 ms of it in
faults. Served from (and kept in) the arenas, it takes 1.1 ms. Memory a host
freed stays with the process up to the trim threshold.
"""

from __future__ import annotations

import ctypes

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's ceiling for this setting on 64-bit
TRIM_THRESHOLD_BYTES = 128 << 20


def keep_large_buffers_in_arenas() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; False where the C library has no ``mallopt``."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
