"""A memory image for the wire: its size and only its non-zero pages (linear memory is mostly zeros)."""

from __future__ import annotations

import dataclasses

from faabric.exceptions import ConfigError
from faabric.snapshot.diff import BLOCK, PAGE

_ZERO_BLOCK = bytes(BLOCK)


@dataclasses.dataclass(frozen=True)
class MemoryImage:
    """``size`` bytes of memory: ``runs`` of ``(offset, data)`` hold every non-zero page, the rest is zeros."""

    size: int
    runs: tuple[tuple[int, bytes], ...]

    @classmethod
    def capture(cls, memory: bytes | memoryview) -> "MemoryImage":
        """The image of ``memory``: runs of consecutive pages that hold a non-zero byte."""
        view = memoryview(memory).cast("B")
        size = len(view)
        runs: list[tuple[int, bytes]] = []
        start = None  # where the current run of non-zero pages began
        for block in range(0, size, BLOCK):
            end = min(size, block + BLOCK)
            zeros = bytes(view[block:end]) == _ZERO_BLOCK[:end - block]  # bytes: a memcmp
            for page in range(block, end, PAGE):
                used = not zeros and bytes(view[page:page + PAGE]) != _ZERO_BLOCK[:min(end, page + PAGE) - page]
                if used and start is None:
                    start = page
                elif not used and start is not None:
                    runs.append((start, bytes(view[start:page])))
                    start = None
        if start is not None:
            runs.append((start, bytes(view[start:size])))
        return cls(size, tuple(runs))

    def contents(self) -> bytearray:
        """The whole memory, zeros included."""
        memory = bytearray(self.size)
        for offset, data in self.runs:
            if offset < 0 or offset + len(data) > self.size:
                raise ConfigError(f"memory image run [{offset}, {offset + len(data)}) outside {self.size} bytes")
            memory[offset:offset + len(data)] = data
        return memory

    def to_wire(self) -> list:
        return [self.size, [[offset, data] for offset, data in self.runs]]

    @classmethod
    def from_wire(cls, item: list) -> "MemoryImage":
        size, runs = item
        return cls(size, tuple((offset, bytes(data)) for offset, data in runs))
