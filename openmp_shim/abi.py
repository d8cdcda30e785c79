"""libomp's ABI as clang 14 emits it for wasm32: schedule kinds and loop arithmetic.

Pure code: how ``__kmpc_for_static_init_*`` splits a loop between the
threads of a team, and how ``__kmpc_dispatch_*`` hands out chunks for
dynamic, guided and runtime schedules. Loop bounds are inclusive, as in
libomp; ``stride`` is the increment between iterations.
"""

from __future__ import annotations

import dataclasses
import math

from faabric.exceptions import OpenMPError

# kmp_sched_t (libomp kmp.h)
SCH_STATIC_CHUNKED = 33
SCH_STATIC = 34
SCH_DYNAMIC_CHUNKED = 35
SCH_GUIDED_CHUNKED = 36
SCH_RUNTIME = 37
SCH_AUTO = 38
ORDERED_OFFSET = 32  # kmp_ord_* = kmp_sch_* + 32
SCH_MODIFIER_MASK = (1 << 29) | (1 << 30)  # monotonic / nonmonotonic

# What each schedule kind behaves as: static, static chunked, dynamic, guided or runtime.
_KINDS = {
    33: "static_chunked", 34: "static", 35: "dynamic", 36: "guided", 37: "runtime", 38: "static",
    39: "guided", 40: "static", 41: "static", 42: "guided", 43: "guided", 44: "dynamic", 45: "static",
    46: "guided", 47: "runtime",
}
_STATIC_INIT_KINDS = {33: "static_chunked", 34: "static", 40: "static", 41: "static", 45: "static"}

# omp_sched_t (omp.h)
OMP_SCHED_STATIC, OMP_SCHED_DYNAMIC, OMP_SCHED_GUIDED, OMP_SCHED_AUTO = 1, 2, 3, 4
OMP_SCHED_NAMES = {"static": OMP_SCHED_STATIC, "dynamic": OMP_SCHED_DYNAMIC, "guided": OMP_SCHED_GUIDED,
                   "auto": OMP_SCHED_AUTO}


def schedule_kind(code: int, for_static_init: bool = False) -> tuple[str, bool]:
    """``(kind, ordered)`` for a libomp schedule code.

    Raises:
        OpenMPError: the code is no schedule this runtime knows.
    """
    base = code & ~SCH_MODIFIER_MASK
    ordered = False
    if not for_static_init and SCH_STATIC_CHUNKED + ORDERED_OFFSET <= base <= 39 + ORDERED_OFFSET:
        base, ordered = base - ORDERED_OFFSET, True
    kinds = _STATIC_INIT_KINDS if for_static_init else _KINDS
    if base not in kinds:
        where = "__kmpc_for_static_init" if for_static_init else "__kmpc_dispatch_init"
        raise OpenMPError(f"unknown schedule kind {code} passed to {where}")
    return kinds[base], ordered


def trip_count(lower: int, upper: int, stride: int) -> int:
    """Iterations of ``for (i = lower; i <= upper; i += stride)`` (or ``>=`` for negative strides)."""
    if stride == 0:
        raise OpenMPError("loop increment of zero")
    if stride > 0:
        return 0 if upper < lower else (upper - lower) // stride + 1
    return 0 if lower < upper else (lower - upper) // -stride + 1


@dataclasses.dataclass(frozen=True)
class StaticBounds:
    lower: int
    upper: int
    stride: int  # what the compiler adds to both bounds for this thread's next chunk
    last: bool  # this thread runs the loop's last iteration


def static_bounds(kind: str, tid: int, nth: int, lower: int, upper: int, incr: int, chunk: int) -> StaticBounds:
    """This thread's share of a statically scheduled loop (libomp ``__kmp_for_static_init``)."""
    trips = trip_count(lower, upper, incr)
    if trips == 0:
        return StaticBounds(lower, upper, incr, False)
    if nth == 1:
        span = upper - lower + 1 if incr > 0 else -(lower - upper + 1)
        return StaticBounds(lower, upper, span, True)
    if kind == "static":
        if trips < nth:
            if tid < trips:
                first = lower + tid * incr
                return StaticBounds(first, first, trips, tid == trips - 1)
            return StaticBounds(upper + (1 if incr > 0 else -1), upper, trips, False)
        small, extras = divmod(trips, nth)
        first = lower + incr * (tid * small + min(tid, extras))
        last_iteration = first + small * incr - (0 if tid < extras else incr)
        return StaticBounds(first, last_iteration, trips, tid == nth - 1)
    chunk = max(chunk, 1)
    span = chunk * incr
    first = lower + span * tid
    return StaticBounds(first, first + span - incr, span * nth, tid == ((trips - 1) // chunk) % nth)


class DispatchLoop:
    """Chunks of one dynamically dispatched loop, shared by a team (caller holds the team lock).

    Chunks are ranges of iteration numbers ``[first, last]`` (0-based);
    :meth:`bounds` turns them into loop values.
    """

    def __init__(self, kind: str, ordered: bool, lower: int, upper: int, stride: int, chunk: int, nth: int) -> None:
        self.kind = kind
        self.ordered = ordered
        self.lower, self.stride = lower, stride
        self.trips = trip_count(lower, upper, stride)
        self.chunk = max(chunk, 1)
        self.nth = nth
        self.next_iteration = 0  # dynamic and guided
        self.static_chunks: dict[int, int] = {}  # static: chunks handed to each thread so far
        self.finished: set[int] = set()
        self.ordered_next = 0  # the iteration whose ordered region may run now

    def next_chunk(self, tid: int) -> tuple[int, int] | None:
        """The next ``(first, last)`` iteration numbers for thread ``tid``, or None when it is done."""
        if self.kind in ("static", "static_chunked"):
            return self._next_static(tid)
        remaining = self.trips - self.next_iteration
        if remaining <= 0:
            return None
        size = self.chunk
        if self.kind == "guided":
            size = max(self.chunk, math.ceil(remaining / (2 * self.nth)))
        first = self.next_iteration
        self.next_iteration = min(self.trips, first + size)
        return first, self.next_iteration - 1

    def _next_static(self, tid: int) -> tuple[int, int] | None:
        handed = self.static_chunks.get(tid, 0)
        self.static_chunks[tid] = handed + 1
        if self.kind == "static":
            if handed:
                return None
            small, extras = divmod(self.trips, self.nth)
            first = tid * small + min(tid, extras)
            size = small + (1 if tid < extras else 0)
            return (first, first + size - 1) if size else None
        first = (tid + handed * self.nth) * self.chunk
        if first >= self.trips:
            return None
        return first, min(self.trips, first + self.chunk) - 1

    def bounds(self, first: int, last: int) -> tuple[int, int]:
        """Loop values of iteration numbers ``first`` and ``last``."""
        return self.lower + first * self.stride, self.lower + last * self.stride


def runtime_schedule(kind: int, chunk: int) -> tuple[str, int]:
    """The dispatch kind for ``schedule(runtime)`` given the run-sched ICV (omp_sched_t, chunk)."""
    base = kind & 0x7FFFFFFF
    if base == OMP_SCHED_DYNAMIC:
        return "dynamic", max(chunk, 1)
    if base == OMP_SCHED_GUIDED:
        return "guided", max(chunk, 1)
    if base == OMP_SCHED_STATIC and chunk > 0:
        return "static_chunked", chunk
    return "static", 0


def parse_omp_schedule(text: str) -> tuple[int, int]:
    """``OMP_SCHEDULE`` (``"dynamic,4"``) as ``(omp_sched_t, chunk)``; static if unparsable."""
    name, _, chunk = text.strip().lower().partition(",")
    name = name.removeprefix("monotonic:").removeprefix("nonmonotonic:")
    try:
        size = int(chunk) if chunk else 0
    except ValueError:
        size = 0
    return OMP_SCHED_NAMES.get(name, OMP_SCHED_STATIC), size


def wrap(value: int, bits: int, signed: bool) -> int:
    """``value`` as a ``bits``-wide integer."""
    value &= (1 << bits) - 1
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value
