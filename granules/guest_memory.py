"""Bounds-checked access to a granule's linear memory from host functions.

Every pointer and length a guest passes to the host goes through
:class:`GuestMemory`. A bad one raises :class:`GuestMemoryError`, which traps
the guest; the host never reads or writes outside the guest's memory.
"""

from __future__ import annotations

import ctypes
import struct

from faabric.exceptions import GuestMemoryError
from granules import raw

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
WASM_PAGE = 1 << 16


def as_pointer(value: int) -> int:
    """A wasm32 pointer argument (arrives as a signed i32) as an unsigned offset."""
    return value & 0xFFFFFFFF


class GuestMemory:
    """A view of one granule's linear memory, refreshed whenever it may have grown."""

    def __init__(self, function: str, ctx, memory) -> None:
        self._function = function
        self._ctx = ctx
        self._memory = memory
        self.base = 0
        self.view = memoryview(b"")
        self.refresh()

    def refresh(self) -> None:
        """Re-read base and size (linear memory may have grown)."""
        size = raw.memory_size(self._ctx, self._memory)
        base = raw.memory_base(self._ctx, self._memory)
        if base != self.base or size != len(self.view):
            self.base = base
            self.view = memoryview((ctypes.c_ubyte * size).from_address(base)).cast("B") if size else memoryview(b"")

    @property
    def size(self) -> int:
        return len(self.view)

    def check(self, pointer: int, length: int, what: str = "buffer") -> int:
        """Validate ``[pointer, pointer+length)``; return the pointer as an offset.

        Raises:
            GuestMemoryError: negative length or a range outside linear memory.
        """
        offset = as_pointer(pointer)
        if length < 0:
            raise GuestMemoryError(self._function, f"negative length {length} for {what}")
        if offset + length > len(self.view):
            self.refresh()
            if offset + length > len(self.view):
                raise GuestMemoryError(
                    self._function,
                    f"{what} [{offset:#x}, +{length}) is outside linear memory of {len(self.view)} bytes",
                )
        return offset

    def read(self, pointer: int, length: int, what: str = "buffer") -> bytes:
        offset = self.check(pointer, length, what)
        return bytes(self.view[offset : offset + length])

    def write(self, pointer: int, data: bytes, what: str = "buffer") -> None:
        offset = self.check(pointer, len(data), what)
        self.view[offset : offset + len(data)] = data

    def read_cstr(self, pointer: int, what: str = "string", limit: int = 1 << 16) -> str:
        """A NUL-terminated UTF-8 string of at most ``limit`` bytes."""
        offset = self.check(pointer, 0, what)
        if offset >= len(self.view):
            raise GuestMemoryError(self._function, f"{what} at {offset:#x} is outside linear memory")
        end = min(len(self.view), offset + limit + 1)
        data = bytes(self.view[offset:end])
        nul = data.find(b"\0")
        if nul < 0:
            raise GuestMemoryError(
                self._function, f"{what} at {offset:#x} has no terminating NUL within {limit} bytes"
            )
        try:
            return data[:nul].decode("utf-8")
        except UnicodeDecodeError:
            raise GuestMemoryError(self._function, f"{what} at {offset:#x} is not valid UTF-8") from None

    def write_u32(self, pointer: int, value: int, what: str = "pointer target") -> None:
        self.write(pointer, _U32.pack(value & 0xFFFFFFFF), what)

    def write_i32(self, pointer: int, value: int, what: str = "int target") -> None:
        self.write(pointer, _I32.pack(value), what)

    def read_i32(self, pointer: int, what: str = "int") -> int:
        return _I32.unpack(self.read(pointer, 4, what))[0]

    def grow(self, nbytes: int) -> int:
        """Grow memory by enough pages for ``nbytes``; return the new region's offset.

        Raises:
            GuestMemoryError: the memory cap does not allow the growth.
        """
        pages = max(1, -(-nbytes // WASM_PAGE))
        previous = raw.memory_grow(self._ctx, self._memory, pages)
        if previous is None:
            raise GuestMemoryError(self._function, f"cannot grow memory by {pages} pages for host data")
        self.refresh()
        return previous * WASM_PAGE
