"""The host's malloc tuning: megabyte buffers come from the arenas, not from a fresh mmap each."""

import ctypes

from faabric.allocator import keep_large_buffers_in_arenas


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _mmapped_bytes() -> int:
    mallinfo2 = ctypes.CDLL(None).mallinfo2
    mallinfo2.restype = _MallInfo2
    return mallinfo2().hblkhd


def test_megabyte_buffers_are_served_from_the_arenas_once_tuned():
    assert keep_large_buffers_in_arenas()  # Debian's glibc has mallopt
    before = _mmapped_bytes()
    buffers = [bytes(4 << 20) for _ in range(4)]
    assert _mmapped_bytes() - before < 4 << 20, "a 4 MiB buffer was given its own mapping"
    del buffers
