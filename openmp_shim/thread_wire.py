"""What a thread call on another host carries, and what it sends back, as msgpack.

A thread call is a chained call of the same function whose ``group_id`` is
the forking call's id, ``group_index`` the thread number, ``func_ptr`` the
microtask and ``snapshot_key`` names the fork (``openmp:<call>:<fork>``).
Its input is a :class:`ThreadSpec` (one packing shared by the team's remote
members), its output a :class:`ThreadResult`.
"""

from __future__ import annotations

import dataclasses

import msgpack
from wasmtime import _ffi as ffi

from faabric.exceptions import OpenMPError
from faabric.messages import Message
from faabric.snapshot import MemoryImage, MergeRegion, SnapshotDiff
from granules import raw

SNAPSHOT_KEY_PREFIX = "openmp:"
_CODE_OF_KIND = {kind.value: code for kind, code in
                 ((ffi.WASMTIME_I32, "i"), (ffi.WASMTIME_I64, "I"), (ffi.WASMTIME_F32, "f"), (ffi.WASMTIME_F64, "F"))}


def is_thread_call(message: Message) -> bool:
    """Whether ``message`` is an OpenMP thread of a call on another host."""
    return message.snapshot_key.startswith(SNAPSHOT_KEY_PREFIX)


def snapshot_key(call_id: int, fork: int) -> str:
    return f"{SNAPSHOT_KEY_PREFIX}{call_id}:{fork}"


def globals_to_wire(values: dict) -> list:
    """Raw global values (by export index) as ``[index, code, value]`` items."""
    items = []
    for index, value in values.items():
        code = _CODE_OF_KIND.get(value.kind)
        if code is None:
            raise OpenMPError(f"mutable global {index} has a type that cannot travel to another host")
        items.append([index, code, getattr(value.of, raw.value_field(code))])
    return items


def globals_from_wire(items: list) -> dict:
    return {index: raw.make_value(code, value) for index, code, value in items}


@dataclasses.dataclass
class ThreadSpec:
    """One parallel region's remote members: the parent's memory and globals at the fork, and the team."""

    args: list[int]
    team_size: int
    stacks: dict[int, int]  # thread number -> top of its stack (allocated in the parent's memory)
    nthreads: int  # the nthreads-var ICV of the forking thread
    run_sched: tuple[int, int]
    dynamic: bool
    image: MemoryImage
    globals: list  # globals_to_wire items
    regions: list[MergeRegion]

    def pack(self) -> bytes:
        return msgpack.packb([
            self.args, self.team_size, list(self.stacks.items()), self.nthreads, list(self.run_sched),
            self.dynamic, self.image.to_wire(), self.globals, [r.to_wire() for r in self.regions],
        ], use_bin_type=True)

    @classmethod
    def unpack(cls, data: bytes) -> "ThreadSpec":
        args, size, stacks, nthreads, run_sched, dynamic, image, globals_, regions = msgpack.unpackb(data)
        return cls(args, size, dict(stacks), nthreads, tuple(run_sched), dynamic, MemoryImage.from_wire(image),
                   globals_, [MergeRegion.from_wire(r) for r in regions])


@dataclasses.dataclass
class ThreadResult:
    """A remote member's changes: its diffs, its reduction deposits and the merge regions it knows."""

    diffs: list[SnapshotDiff]
    deposits: list[tuple[int, int, bytes, int]]  # (reduction ordinal, stack pointer, stack, data pointer)
    regions: list[MergeRegion]

    def pack(self) -> bytes:
        diffs, regions = [d.to_wire() for d in self.diffs], [r.to_wire() for r in self.regions]
        return msgpack.packb([diffs, [list(d) for d in self.deposits], regions], use_bin_type=True)

    @classmethod
    def unpack(cls, data: bytes) -> "ThreadResult":
        diffs, deposits, regions = msgpack.unpackb(data)
        return cls([SnapshotDiff.from_wire(d) for d in diffs], [tuple(d) for d in deposits],
                   [MergeRegion.from_wire(r) for r in regions])
