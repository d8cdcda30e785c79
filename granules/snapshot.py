"""Proto-Faaslet snapshots: a granule's memory in a memfd, restored copy-on-write.

:class:`MemorySnapshot` holds a copy of linear memory in an anonymous memory
file. Restoring maps that file ``MAP_PRIVATE | MAP_FIXED`` over a fresh
instance's linear memory: the granule sees the snapshot's bytes at once, only
the pages it writes get copied, and its writes never reach the snapshot.
"""

from __future__ import annotations

import ctypes
import mmap
import os

_libc = ctypes.PyDLL(None, use_errno=True)  # mmap is quick: keep the GIL (see granules.raw)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_MAP_FAILED = ctypes.c_void_p(-1).value
_MAP_FIXED = 0x10
_MAP_ANONYMOUS = 0x20
WASM_PAGE = 1 << 16


def map_fixed(address: int, length: int, flags: int, fd: int = -1, offset: int = 0) -> None:
    """``mmap`` ``fd[offset, offset+length)`` with ``MAP_FIXED`` over ``[address, address+length)`` of our memory."""
    result = _libc.mmap(address, length, mmap.PROT_READ | mmap.PROT_WRITE, flags | _MAP_FIXED, fd, offset)
    if result in (None, _MAP_FAILED) or result != address:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mmap over linear memory failed: {os.strerror(errno)}")


def memfd_with(name: str, contents: memoryview, size: int) -> int:
    """A new memfd of ``size`` bytes (sparse past ``contents``) holding ``contents``; its fd."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, size)
        written = 0
        while written < len(contents):  # pwrite may write less than asked
            written += os.pwrite(fd, contents[written:], written)
    except OSError:
        os.close(fd)
        raise
    return fd


class MemorySnapshot:
    """Linear-memory contents plus the mutable globals they go with.

    ``globals`` maps a global's export index to its value, kept opaque here.
    """

    def __init__(self, name: str, memory: memoryview, globals_: dict) -> None:
        self.size = len(memory)
        self.globals = dict(globals_)
        self._fd = memfd_with(f"faabric-snap-{name}", memory, self.size)

    @property
    def pages(self) -> int:
        return self.size // WASM_PAGE

    def map_into(self, address: int) -> None:
        """Map the snapshot copy-on-write at ``address`` (a linear memory's base)."""
        map_fixed(address, self.size, mmap.MAP_PRIVATE, self._fd)

    def read(self) -> bytes:
        """The snapshot's bytes (for tests and transfer)."""
        return os.pread(self._fd, self.size, 0)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()


def zero_pages(address: int, length: int) -> None:
    """Replace ``[address, address+length)`` with fresh zero pages."""
    map_fixed(address, length, mmap.MAP_PRIVATE | _MAP_ANONYMOUS)
