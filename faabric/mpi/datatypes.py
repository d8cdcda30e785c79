"""MPI datatypes as typemaps: which bytes of a buffer one element covers.

A :class:`Datatype` is a list of byte runs ``(offset, length)`` relative to
the start of one element, plus its lower bound and extent. Sending packs the
runs of ``count`` elements into contiguous bytes; receiving unpacks them.
Contiguous types (every predefined one but the padded pairs) take a fast path:
one slice copy.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Sequence

import numpy as np

from faabric.mpi.errors import ErrorClass, fail

# Element kinds, which decide the reduction ops that apply.
INTEGER, FLOATING, COMPLEX, LOGICAL = "integer", "float", "complex", "logical"
BYTE, PAIR, OPAQUE = "byte", "pair", "opaque"


@dataclasses.dataclass(frozen=True)
class Datatype:
    """A committed or uncommitted MPI datatype.

    Attributes:
        runs: byte runs of one element, ``(offset, length)``, in typemap order
            (the order data is packed in), adjacent runs merged.
        size: data bytes in one element (the sum of the runs).
        lb, extent: lower bound and extent (stride between consecutive elements).
        element: the numpy dtype of the single basic type the type is made of
            (None if mixed): reductions work on it.
        kind: the element kind (``integer``, ``float``, ``pair``...).
    """

    name: str
    runs: tuple[tuple[int, int], ...]
    size: int
    lb: int
    extent: int
    element: np.dtype | None
    kind: str
    predefined: bool = False
    committed: bool = True

    @functools.cached_property
    def contiguous(self) -> bool:
        return self.lb == 0 and self.extent == self.size and (self.runs == ((0, self.size),) or self.size == 0)

    @functools.cached_property
    def true_span(self) -> tuple[int, int]:
        """Lowest offset and one past the highest offset any run of one element touches."""
        if not self.runs:
            return 0, 0
        return min(o for o, _ in self.runs), max(o + n for o, n in self.runs)

    def span(self, count: int) -> tuple[int, int]:
        """``(first, length)`` of the bytes ``count`` elements touch, relative to the buffer."""
        if count <= 0 or self.size == 0:
            return 0, 0
        if self.contiguous:
            return 0, count * self.size
        low, high = self.true_span
        first = min(low, low + (count - 1) * self.extent)
        last = max(high, high + (count - 1) * self.extent)
        return first, last - first


def basic(name: str, size: int, numpy_code: str | None, kind: str) -> Datatype:
    element = np.dtype(numpy_code) if numpy_code else None
    return Datatype(name, ((0, size),), size, 0, size, element, kind, predefined=True)


def pair(name: str, value_code: str, value_size: int, index_offset: int, extent: int) -> Datatype:
    """A ``{value; int}`` pair type for MAXLOC/MINLOC (C struct layout, padded)."""
    runs = _merge([(0, value_size), (index_offset, 4)])
    element = np.dtype([("value", value_code), ("index", "<i4")])  # packed: no padding
    return Datatype(name, runs, value_size + 4, 0, extent, element, PAIR, predefined=True)


def _merge(runs: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[list[int]] = []
    for offset, length in (r for r in runs if r[1] > 0):  # typemap order, never sorted
        if merged and merged[-1][0] + merged[-1][1] == offset:
            merged[-1][1] += length
        else:
            merged.append([offset, length])
    return tuple((o, n) for o, n in merged)


def _common_element(types: Sequence[Datatype]) -> tuple[np.dtype | None, str]:
    elements = {(t.element, t.kind) for t in types if t.size}
    if len(elements) == 1:
        return next(iter(elements))
    return None, OPAQUE


def _check_count(count: int, what: str = "count") -> None:
    if count < 0:
        raise fail(ErrorClass.ERR_COUNT, f"negative {what} {count}")


def contiguous(count: int, old: Datatype) -> Datatype:
    _check_count(count)
    return vector(count, 1, 1, old, name=f"contiguous({count}, {old.name})")


def vector(count: int, blocklength: int, stride: int, old: Datatype, name: str = "") -> Datatype:
    """``count`` blocks of ``blocklength`` elements, ``stride`` elements apart."""
    _check_count(count)
    _check_count(blocklength, "block length")
    name = name or f"vector({count}, {blocklength}, {stride}, {old.name})"
    return hvector(count, blocklength, stride * old.extent, old, name)


def hvector(count: int, blocklength: int, stride_bytes: int, old: Datatype, name: str = "") -> Datatype:
    displacements = [i * stride_bytes for i in range(count)]
    return create_struct([blocklength] * count, displacements, [old] * count, name or f"hvector({count})")


def indexed(blocklengths: Sequence[int], displacements: Sequence[int], old: Datatype) -> Datatype:
    return create_struct(blocklengths, [d * old.extent for d in displacements], [old] * len(blocklengths), "indexed")


def create_struct(
    blocklengths: Sequence[int], displacements: Sequence[int], types: Sequence[Datatype], name: str = "struct"
) -> Datatype:
    """The general constructor: block ``i`` is ``blocklengths[i]`` of ``types[i]`` at byte ``displacements[i]``."""
    runs: list[tuple[int, int]] = []
    lows, highs = [], []
    size = 0
    for length, displacement, old in zip(blocklengths, displacements, types):
        _check_count(length, "block length")
        if length == 0:
            continue
        if old.contiguous:
            runs.append((displacement, length * old.size))
        else:
            for i in range(length):
                base = displacement + i * old.extent
                runs.extend((base + o, n) for o, n in old.runs)
        size += length * old.size
        lows.append(displacement + old.lb)
        highs.append(displacement + old.lb + length * old.extent)
    lb = min(lows) if lows else 0
    ub = max(highs) if highs else 0
    used = [t for t, n in zip(types, blocklengths) if n > 0]
    element, kind = _common_element(used)
    return Datatype(name, _merge(runs), size, lb, ub - lb, element, kind, committed=False)


def resized(old: Datatype, lb: int, extent: int) -> Datatype:
    name = f"resized({old.name})"
    return dataclasses.replace(old, lb=lb, extent=extent, name=name, predefined=False, committed=False)


_GATHER_LIMIT = 1 << 24  # bytes: beyond this, packing loops over runs instead of building an index


def _byte_index(datatype: Datatype, count: int) -> np.ndarray | None:
    """Offsets of every data byte of ``count`` elements, in pack order (cached per count)."""
    if count * datatype.size > _GATHER_LIMIT:
        return None
    cache = datatype.__dict__.setdefault("_byte_index", {})
    index = cache.get(count)
    if index is None:
        one = np.concatenate([np.arange(o, o + n, dtype=np.int64) for o, n in datatype.runs])
        index = (np.arange(count, dtype=np.int64)[:, None] * datatype.extent + one[None, :]).ravel()
        if len(cache) < 8:
            cache[count] = index
    return index


def pack(view: memoryview, base: int, count: int, datatype: Datatype) -> bytes:
    """Copy ``count`` elements at ``view[base:]`` into contiguous bytes."""
    if datatype.contiguous:
        return bytes(view[base : base + count * datatype.size])
    index = _byte_index(datatype, count)
    if index is not None:
        return np.frombuffer(view, dtype=np.uint8)[index + base].tobytes()
    out = bytearray(count * datatype.size)
    position = 0
    for element in range(count):
        start = base + element * datatype.extent
        for offset, length in datatype.runs:
            out[position : position + length] = view[start + offset : start + offset + length]
            position += length
    return bytes(out)


def unpack(view: memoryview, base: int, count: int, datatype: Datatype, data) -> None:
    """Scatter packed ``data`` (a whole number of elements, at most ``count``) into ``view[base:]``."""
    if datatype.contiguous:
        view[base : base + len(data)] = data
        return
    index = _byte_index(datatype, count)
    if index is not None:
        np.frombuffer(view, dtype=np.uint8)[index[: len(data)] + base] = np.frombuffer(data, dtype=np.uint8)
        return
    data = memoryview(data)
    position, element = 0, 0
    total = len(data)
    while position < total and element < count:
        start = base + element * datatype.extent
        for offset, length in datatype.runs:
            if position >= total:
                break
            length = min(length, total - position)
            view[start + offset : start + offset + length] = data[position : position + length]
            position += length
        element += 1
