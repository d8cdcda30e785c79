"""Team members: extra instances of a granule's module, each on its own OS thread.

A :class:`Worker` owns one thread instance (a :class:`~granules.granule.Granule`
of the same ProtoFunction, in its own Store) and the OS thread that runs
microtasks in it. Wasm runs without the GIL, so the members of a team
really run at the same time.

Shared mode: the parent's linear memory is moved onto a memfd mapped
``MAP_SHARED`` at the first fork, and every worker maps the same file over
its own linear memory: all instances see the same physical pages. A worker
then stays in the guest for the rest of the call, waiting there for each
region (``OpenMPProgram._fork_parked``).
Snapshot mode: each worker is restored, copy-on-write, from a snapshot of
the parent taken at the fork, and its changes are diffed and merged back.
"""

from __future__ import annotations

import mmap
import os
import queue
import struct
import threading
from typing import TYPE_CHECKING, Callable

import wasmtime

from faabric.exceptions import GranuleOutOfMemoryError, OpenMPError
from faabric.snapshot import SnapshotDiff
from granules import raw
from granules.snapshot import WASM_PAGE, MemorySnapshot, map_fixed, memfd_with

if TYPE_CHECKING:
    from granules.context import ActiveCall
    from granules.granule import Granule

STACK_SIZE = 256 << 10  # each worker's stack (the main thread keeps the module's own)
THREADPRIVATE_ARENA = 16 << 10  # the bottom of a worker's stack region: its threadprivate copies
# The guest's region record (omp_runtime.c, team_region): byte offsets of its fields.
REGION_EXIT, REGION_SPIN_NS, REGION_ACTIVE = 20, 24, 32
REGION_FAST = 36  # fast_size, default_threads, thread_limit: what a fork without the host needs
REGION_FAILED, REGION_OUTPUT, REGION_DONE = 48, 52, 56


_PAGEMAP_PRESENT, _PAGEMAP_SWAPPED, _PAGEMAP_FILE_OR_SHARED = 1 << 63, 1 << 62, 1 << 61
_OS_PAGE = os.sysconf("SC_PAGE_SIZE")


def written_pages(granule: "Granule") -> set[int] | None:
    """4 KiB pages a snapshot-restored instance has written, or None if the kernel will not say.

    Restored memory maps the snapshot copy-on-write: a page the instance
    wrote became private (anonymous), every other page is still the
    snapshot's (or was never touched). ``/proc/self/pagemap`` tells which.
    """
    if _OS_PAGE != 4096:
        return None
    memory = memory_of(granule)
    base, size = raw.memory_base(granule.ctx, memory), raw.memory_size(granule.ctx, memory)
    try:
        fd = os.open("/proc/self/pagemap", os.O_RDONLY)
        try:
            data = os.pread(fd, size // _OS_PAGE * 8, base // _OS_PAGE * 8)
        finally:
            os.close(fd)
    except OSError:
        return None
    if len(data) != size // _OS_PAGE * 8:
        return None
    written = set()
    for index, (entry,) in enumerate(struct.iter_unpack("<Q", data)):
        if entry & _PAGEMAP_SWAPPED or (entry & _PAGEMAP_PRESENT and not entry & _PAGEMAP_FILE_OR_SHARED):
            written.add(index)
    return written


def memory_of(granule: "Granule"):
    """The raw linear-memory extern of ``granule``."""
    return raw.export_at(granule.ctx, granule.instance, granule.proto.memory_index).of.memory


def grow_to(granule: "Granule", size: int) -> None:
    """Grow ``granule``'s linear memory to ``size`` bytes (no-op if it is that large)."""
    memory = memory_of(granule)
    missing = (size - raw.memory_size(granule.ctx, memory)) // WASM_PAGE
    if missing > 0 and raw.memory_grow(granule.ctx, memory, missing) is None:
        raise GranuleOutOfMemoryError(granule.proto.name, granule.limits.memory_bytes, "OpenMP threads' memory")
    granule.memory.refresh()


class SharedMemory:
    """A memfd holding linear memory that several instances map ``MAP_SHARED``."""

    def __init__(self, name: str, contents: memoryview, size: int) -> None:
        self.size = size
        self.fd = memfd_with(f"faabric-omp-{name}", contents, size)  # sparse: pages cost nothing until touched

    def map_into(self, granule: "Granule") -> None:
        grow_to(granule, self.size)
        map_fixed(raw.memory_base(granule.ctx, memory_of(granule)), self.size, mmap.MAP_SHARED, self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __del__(self) -> None:
        self.close()


class ForkSnapshot(MemorySnapshot):
    """The parent's memory at a fork (snapshot mode): workers restore from it, diffs compare with it."""

    def contents(self) -> memoryview:
        """The snapshot's bytes, mapped read-only from its memory file (no copy)."""
        if not self.size:
            return memoryview(b"")
        return memoryview(mmap.mmap(self._fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ))


class Worker:
    """One extra thread of a call's OpenMP teams, with its own instance and OS thread.

    A member placed on another host has no instance here: its OS thread only
    takes in the remote call's result.
    """

    def __init__(self, gtid: int, name: str) -> None:
        self.gtid = gtid
        self.granule: "Granule | None" = None
        self.stack_top = 0
        self.threadprivate: dict[int, int] = {}  # original address -> this worker's copy
        self.diffs: list[SnapshotDiff] = []  # snapshot mode: what this member changed in its last region
        self._arena_used = 0
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()  # a job, or None to stop
        self._name = f"{name}-omp-{gtid}"
        self._thread: threading.Thread | None = None  # started by the first job
        # Shared mode, where workers wait for regions in the guest (openmp_shim.program._park):
        self.parked = False  # the thread waits for regions inside the guest
        self.park_wakeup: queue.SimpleQueue = queue.SimpleQueue()  # wakes it from the host side of that wait
        self.region = 0  # the guest's region record (its exit flag stops the parked thread)
        self.failed: str | None = None  # why a parked thread stopped early
        self.call: ActiveCall | None = None  # the parked thread's call (its scratch: the current ThreadState)

    def threadprivate_block(self, size: int) -> int:
        """Room for one threadprivate copy at the bottom of this worker's stack region."""
        offset = (self._arena_used + 15) & ~15
        if offset + size > THREADPRIVATE_ARENA:
            raise OpenMPError(f"threadprivate data of this thread exceeds {THREADPRIVATE_ARENA} bytes")
        self._arena_used = offset + size
        return self.stack_top - STACK_SIZE + offset

    def submit(self, job: Callable[[], None]) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
            self._thread.start()
        self._jobs.put(job)

    def close(self) -> None:
        if self.parked and self.granule is not None:  # ask the guest loop to return, then wake it
            view = self.granule.memory.view
            struct.pack_into("<i", view, self.region + REGION_EXIT, 1)
            generation = struct.unpack_from("<i", view, self.region)[0]
            struct.pack_into("<i", view, self.region, generation + 1)
            self.park_wakeup.put(None)
        self._jobs.put(None)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                self.granule = None
                return
            job()
            del job  # drop the job's references before idling


def stopped_worker_error(workers: list[Worker]) -> OpenMPError | None:
    """The error naming the first of ``workers`` (threads 1, 2, ...) whose parked thread stopped, if one did."""
    return next((OpenMPError(f"OpenMP thread {tid} stopped: {worker.failed}")
                 for tid, worker in enumerate(workers, 1) if worker.failed is not None), None)


def new_instance(root: "Granule", wasi: wasmtime.WasiConfig, snapshot: MemorySnapshot | None) -> "Granule":
    """Another instance of ``root``'s function (from ``snapshot`` if given)."""
    from granules.granule import Granule  # (granules.engine imports the host functions)

    return Granule(root.proto, root.limits, wasi, snapshot)


class Handles:
    """Raw handles of one instance that every fork uses: its stack pointer, table entries and guest slot."""

    def __init__(self, granule: "Granule", sp_index: int) -> None:
        ctx = granule.ctx
        self.sp_global = raw.export_at(ctx, granule.instance, sp_index).of.global_
        self.table = None
        if granule.proto.table_index is not None:
            self.table = raw.export_at(ctx, granule.instance, granule.proto.table_index).of.table
        self.functions: dict[int, object] = {}
        self.slot = 0  # shared mode: the instance's guest thread slot (0: not attached)

    @staticmethod
    def of(granule: "Granule", sp_index: int) -> "Handles":
        handles = granule.extensions.get("openmp")
        if handles is None:
            handles = granule.extensions["openmp"] = Handles(granule, sp_index)
        return handles


def call_microtask(
    granule: "Granule", sp_index: int, stack_top: int, func_index: int, gtid: int, tid: int, args: list[int],
    ready: Callable[[], None] | None = None,
) -> None:
    """Run ``microtask(&gtid, &tid, *args)`` (a function-table entry) in ``granule``.

    ``gtid`` and ``tid`` are stored just below ``stack_top``, and the stack
    pointer is set below them for the call, then restored. ``ready`` runs
    last before entering the guest.
    """
    handles = Handles.of(granule, sp_index)
    func = handles.functions.get(func_index) or table_function(granule, func_index)
    handles.functions[func_index] = func
    frame = (stack_top - 16) & ~15
    granule.memory.write(frame, struct.pack("<ii", gtid, tid), "thread ids")
    call_on_stack(granule, sp_index, frame, func, [frame, frame + 4, *args], ready)


def call_on_stack(granule: "Granule", sp_index: int, stack_top: int, func, args: list[int],
                  ready: Callable[[], None] | None = None, result_code: str | None = None) -> int | None:
    """Call ``func`` in ``granule`` with its stack pointer at ``stack_top`` (restored after); typed errors."""
    ctx = granule.ctx
    handles = Handles.of(granule, sp_index)
    saved = raw.global_get(ctx, handles.sp_global)
    raw.global_set(ctx, handles.sp_global, raw.make_value("i", stack_top))
    try:
        if ready is not None:
            ready()
        result = raw.call(ctx, func, args, result_code)
    except (wasmtime.Trap, wasmtime.WasmtimeError) as error:
        raise granule.classify(error) from None
    finally:
        raw.global_set(ctx, handles.sp_global, saved)
    if granule.host_error is not None:
        error, granule.host_error = granule.host_error, None
        raise error
    return result


def table_function(granule: "Granule", index: int):
    """Function-table entry ``index`` of ``granule`` (a microtask, a reduction or copy function)."""
    if granule.proto.table_index is None:
        raise OpenMPError("OpenMP needs the module's function table exported (link with --export-table)")
    table = raw.export_at(granule.ctx, granule.instance, granule.proto.table_index).of.table
    func = raw.table_func(granule.ctx, table, index)
    if func is None:
        raise OpenMPError(f"function pointer {index} is not in the function table")
    return func


def stack_pointer(granule: "Granule", sp_index: int) -> int:
    return raw.global_get(granule.ctx, Handles.of(granule, sp_index).sp_global).of.i32


def set_globals(granule: "Granule", values: dict) -> None:
    for index, value in values.items():
        raw.global_set(granule.ctx, raw.export_at(granule.ctx, granule.instance, index).of.global_, value)
