"""Merge regions, merge operations and applying diffs to memory.

Type and operation codes are Faabric's (``SnapshotDataType``,
``SnapshotMergeOperation``) and Faasm's ``FAASM_TYPE_*``/``FAASM_OP_*``.
A region's diff carries a *delta* that combines with whatever the target
memory holds by then, so the diffs of many threads can be applied one after
another in any order: Sum sends ``updated - original``, Subtract sends
``original - updated``, Product sends ``updated / original``, Max and Min
send the updated value, XOR sends ``updated ^ original``.
"""

from __future__ import annotations

import dataclasses
import enum
import struct

from faabric.exceptions import ConfigError


class DataType(enum.IntEnum):
    RAW = 0
    BOOL = 1
    INT = 2
    LONG = 3
    FLOAT = 4
    DOUBLE = 5


class MergeOp(enum.IntEnum):
    BYTEWISE = 0
    SUM = 1
    PRODUCT = 2
    SUBTRACT = 3
    MAX = 4
    MIN = 5
    IGNORE = 6
    XOR = 7


# struct code and size of one element of each typed data type
_ELEMENT = {DataType.BOOL: ("?", 1), DataType.INT: ("i", 4), DataType.LONG: ("q", 8),
            DataType.FLOAT: ("f", 4), DataType.DOUBLE: ("d", 8)}
_NUMERIC_OPS = {MergeOp.SUM, MergeOp.PRODUCT, MergeOp.SUBTRACT, MergeOp.MAX, MergeOp.MIN}


def element_size(data_type: DataType) -> int:
    """Bytes of one element (0 for RAW, which has no element size)."""
    return _ELEMENT[data_type][1] if data_type in _ELEMENT else 0


@dataclasses.dataclass(frozen=True, order=True)
class MergeRegion:
    """``length`` bytes at ``offset`` merged with ``operation`` over elements of ``data_type``."""

    offset: int
    length: int
    data_type: DataType
    operation: MergeOp

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_type", DataType(self.data_type))
        object.__setattr__(self, "operation", MergeOp(self.operation))
        if self.offset < 0 or self.length <= 0:
            raise ConfigError(f"merge region needs offset >= 0 and length > 0, got {self.offset}+{self.length}")
        if self.operation in _NUMERIC_OPS:
            size = element_size(self.data_type)
            if size == 0 or self.length % size:
                raise ConfigError(
                    f"{self.operation.name} needs whole {self.data_type.name} elements, got {self.length} bytes"
                )

    @property
    def end(self) -> int:
        return self.offset + self.length

    def to_wire(self) -> list:
        return [self.offset, self.length, int(self.data_type), int(self.operation)]

    @classmethod
    def from_wire(cls, item: list) -> "MergeRegion":
        offset, length, data_type, operation = item
        return cls(offset, length, DataType(data_type), MergeOp(operation))

    def delta(self, original: bytes, updated: bytes) -> bytes:
        """What this region's diff carries, given its bytes before and after."""
        op = self.operation
        if op in (MergeOp.BYTEWISE, MergeOp.MAX, MergeOp.MIN):
            return bytes(updated)
        if op == MergeOp.XOR:
            return _xor(original, updated)
        before, after = self._unpack(original), self._unpack(updated)
        if op == MergeOp.SUM:
            values = [a - b for a, b in zip(after, before)]
        elif op == MergeOp.SUBTRACT:
            values = [b - a for a, b in zip(after, before)]
        else:  # PRODUCT
            values = [(a / b if b else 0) for a, b in zip(after, before)] if self._floating else [
                (a // b if b else 0) for a, b in zip(after, before)]
        return self._pack(values)

    def combine(self, current: bytes, delta: bytes) -> bytes:
        """The merged bytes: ``current`` (target memory now) combined with one diff's ``delta``."""
        op = self.operation
        if op == MergeOp.BYTEWISE:
            return bytes(delta)
        if op == MergeOp.XOR:
            return _xor(current, delta)
        now, change = self._unpack(current), self._unpack(delta)
        if op == MergeOp.SUM:
            values = [a + b for a, b in zip(now, change)]
        elif op == MergeOp.SUBTRACT:
            values = [a - b for a, b in zip(now, change)]
        elif op == MergeOp.PRODUCT:
            values = [a * b for a, b in zip(now, change)]
        elif op == MergeOp.MAX:
            values = [max(a, b) for a, b in zip(now, change)]
        else:  # MIN
            values = [min(a, b) for a, b in zip(now, change)]
        return self._pack(values)

    @property
    def _floating(self) -> bool:
        return self.data_type in (DataType.FLOAT, DataType.DOUBLE)

    def _format(self) -> str:
        code, size = _ELEMENT[self.data_type]
        return f"<{self.length // size}{code}"

    def _unpack(self, data: bytes) -> tuple:
        return struct.unpack(self._format(), data)

    def _pack(self, values: list) -> bytes:
        code, size = _ELEMENT[self.data_type]
        if code in "iq":  # integers wrap around, as in C
            bits = size * 8
            values = [((int(v) + (1 << (bits - 1))) % (1 << bits)) - (1 << (bits - 1)) for v in values]
        elif code == "?":
            values = [bool(v) for v in values]
        return struct.pack(self._format(), *values)


@dataclasses.dataclass(frozen=True)
class SnapshotDiff:
    """One change to memory: ``data`` at ``offset``, merged with ``operation`` over ``data_type``.

    A bytewise diff may carry a ``mask`` as long as ``data``: only the bytes
    whose mask byte is non-zero changed, the others are left as they are
    (one diff per page instead of one per run of changed bytes).
    """

    offset: int
    data: bytes
    operation: MergeOp = MergeOp.BYTEWISE
    data_type: DataType = DataType.RAW
    mask: bytes = b""

    def to_wire(self) -> list:
        return [self.offset, bytes(self.data), int(self.operation), int(self.data_type), bytes(self.mask)]

    @classmethod
    def from_wire(cls, item: list) -> "SnapshotDiff":
        offset, data, operation, data_type, mask = item
        return cls(offset, bytes(data), MergeOp(operation), DataType(data_type), bytes(mask))

    def region(self) -> MergeRegion:
        return MergeRegion(self.offset, len(self.data), self.data_type, self.operation)


def apply_diffs(memory: memoryview | bytearray, diffs: list[SnapshotDiff]) -> None:
    """Merge ``diffs`` into writable ``memory`` (which must be large enough)."""
    for diff in diffs:
        end = diff.offset + len(diff.data)
        if diff.offset < 0 or end > len(memory):
            raise ConfigError(f"diff [{diff.offset}, {end}) is outside memory of {len(memory)} bytes")
        if diff.operation == MergeOp.BYTEWISE and diff.mask:
            memory[diff.offset:end] = _masked(bytes(memory[diff.offset:end]), diff.data, diff.mask)
        elif diff.operation == MergeOp.BYTEWISE:
            memory[diff.offset:end] = diff.data
        elif diff.operation != MergeOp.IGNORE:
            memory[diff.offset:end] = diff.region().combine(bytes(memory[diff.offset:end]), diff.data)


def _masked(current: bytes, data: bytes, mask: bytes) -> bytes:
    """``data`` where ``mask`` bytes are non-zero (0xFF), ``current`` elsewhere."""
    size = len(current)
    keep = int.from_bytes(mask, "little")
    merged = (int.from_bytes(current, "little") & ~keep) | (int.from_bytes(data, "little") & keep)
    return merged.to_bytes(size, "little")


def _xor(left: bytes, right: bytes) -> bytes:
    size = len(left)
    return (int.from_bytes(left, "little") ^ int.from_bytes(right, "little")).to_bytes(size, "little")
