"""One call's OpenMP runtime: ICVs, locks, workers, and fork/join in both modes.

An :class:`OpenMPProgram` is created the first time a call uses OpenMP and
lives in the call's ``ActiveCall.scratch`` for that call only. Each thread's
own ``ActiveCall`` (the workers get theirs here) carries its current
:class:`~openmp_shim.team.ThreadState` under the same key.

Only the call's initial thread forks real teams; a parallel region nested
inside an active one runs serialized (a team of one), which
``max-active-levels = 1`` allows.
"""

from __future__ import annotations

import functools
import os
import struct
import threading
import weakref
from typing import TYPE_CHECKING, Callable

import wasmtime

from faabric.exceptions import OpenMPError
from faabric.snapshot import MergeRegion, SnapshotDiff, apply_diffs, diff_memory
from granules import raw
from granules.context import ACTIVE_CALL, ActiveCall
from granules.snapshot import WASM_PAGE
from granules.wasm_binary import GLOBAL_EXPORT_PREFIX
from openmp_shim import abi, remote
from openmp_shim.guest_forks import GUEST_FORKS_KEY, GuestForks
from openmp_shim.team import SCRATCH_KEY, Team, ThreadState  # noqa: F401 - SCRATCH_KEY is API here too
from openmp_shim.workers import (
    REGION_DONE,
    REGION_SPIN_NS,
    STACK_SIZE,
    ForkSnapshot,
    Handles,
    SharedMemory,
    Worker,
    call_microtask,
    call_on_stack,
    grow_to,
    memory_of,
    new_instance,
    set_globals,
    stack_pointer,
    stopped_worker_error,
    written_pages,
)

if TYPE_CHECKING:
    from granules.granule import Granule

HEADROOM = 128 << 20  # heap the team may grow into after the first fork (virtual until touched)
PROGRAM_KEY = "openmp.program"  # the root call's scratch: the program (states refer to it weakly)
THREAD_LIMIT = 128  # the most threads a team may have (OMP_THREAD_LIMIT may lower it)
WRITE_EXPORT = "__faabric_omp_write"
FLUSH_EXPORT = "__faabric_omp_flush"
ATTACH_EXPORT = "__faabric_omp_attach"  # shared mode: the guest's own static loops and barriers
TEAM_SYNC_EXPORT = "__faabric_omp_team_sync"
REGION_EXPORT = "__faabric_omp_region"  # shared mode: regions start and join in the guest
RUN_TEAM_EXPORT = "__faabric_omp_run_team"
PARK_EXPORT = "__faabric_omp_park"
WORKER_KEY = "openmp.worker"  # a parked worker's ActiveCall.scratch: its Worker
SPIN_NS = 100_000  # the most a guest wait polls before it blocks in the host (0: more team threads than cores)
_SLOT = struct.Struct("<ii")  # a guest thread slot: team number and team size
_TEAM_SYNC = struct.Struct("<iii")  # the guest barrier: arrived, generation, sleepers
_I32 = struct.Struct("<i")
_OUTPUT_PIECE = 2048


class OpenMPProgram:
    """The OpenMP state of one call of one granule."""

    def __init__(self, call: ActiveCall) -> None:
        self._root = weakref.ref(call.granule)  # the call's granule outlives the call; this program does not
        self.message = call.message
        self.context = call.context
        host = getattr(call.context, "host", None)
        config = getattr(host, "config", None)
        self.mode = getattr(config, "omp_mode", "shared")
        self.local_threads = getattr(config, "omp_local_threads", 0)  # 0: every member runs on this host
        self.forks = 0
        self.cores = getattr(config, "cores", 1)
        self.sandbox = str(config.sandbox_dir / call.message.user) if config is not None else None
        env = call.message.env or {}
        self.default_threads = _positive(env.get("OMP_NUM_THREADS", "").split(",")[0]) or self.cores
        self.thread_limit = min(_positive(env.get("OMP_THREAD_LIMIT", "")) or THREAD_LIMIT, THREAD_LIMIT)
        self.dynamic = env.get("OMP_DYNAMIC", "").lower() == "true"
        self.max_active_levels = 1
        self.run_sched = abi.parse_omp_schedule(env.get("OMP_SCHEDULE", "static"))
        self.lock = threading.Lock()
        self.locks_cond = threading.Condition()
        self.locks: dict[int, list] = {}  # address -> [owner thread ident or None, depth, nestable]
        self.criticals: dict[int, threading.Lock] = {}
        self.stdio = threading.RLock()
        self.merge_regions: dict[int, MergeRegion] = {}
        self.threadprivate_init: dict[int, bytes] = {}  # a threadprivate variable's value before first use
        self._outputs: list[tuple[int, bytes]] = []
        self.workers: list[Worker] = []
        self.shared: SharedMemory | None = None
        self.brk: int | None = None  # shared mode: the heap's end (sbrk), below the workers' stacks
        self.stack_floor = 0
        self.team_sync = 0  # shared mode: the guest barrier's address (0: the guest has none)
        self.region = 0  # shared mode: the guest's region record (0: regions start from the host)
        self.parked_team: Team | None = None  # the last team started in the guest
        self.guest_forks: GuestForks | None = None  # the team whose regions the guest starts itself
        self.busy = False
        exports = {item.name: index for index, item in enumerate(self.root.proto.module.exports)}
        self.sp_index = exports.get(f"{GLOBAL_EXPORT_PREFIX}0")
        self.exports = exports
        pool = getattr(host, "pool", None)
        self.initial = ThreadState(self, None, 0, 0, None, self.root, pool.blocking if pool else None)
        weakref.finalize(self, _close, self.workers)  # workers stop when the call is over

    @property
    def root(self) -> "Granule":
        """The call's own granule: it runs the initial thread and forks every team."""
        return self._root()

    @classmethod
    def of(cls, call: ActiveCall) -> ThreadState:
        """The calling thread's state, starting OpenMP for this call if it is the first use."""
        scratch = call.scratch
        state = scratch.get(SCRATCH_KEY)
        if state is None:
            program = scratch[PROGRAM_KEY] = cls(call)
            state = scratch[SCRATCH_KEY] = program.initial
            if program.mode == "shared":
                program._attach_root()
        guest_forks = scratch.get(GUEST_FORKS_KEY)
        return state if guest_forks is None else guest_forks.current(call)

    # -- fork/join -----------------------------------------------------
    def fork(self, call: ActiveCall, parent: ThreadState, microtask: int, args: list[int], args_ptr: int) -> None:
        """Run ``microtask`` on a new team; return when every member has finished.

        ``args_ptr``: where ``args`` are in guest memory (a team started in the guest reads them there).
        """
        if self.sp_index is None:
            raise OpenMPError("the module exports no stack pointer global")
        requested = parent.pushed or parent.nthreads
        parent.pushed = 0
        real = (requested > 1 and parent.granule is self.root and not self.busy
                and parent.active_level < self.max_active_levels)
        size = min(requested, self.thread_limit) if real else 1
        team = Team(size, parent)
        if parent is self.initial:  # (the guest asks: another team size)
            self.disarm_guest_forks(call)
        if size == 1:
            self._run_inline(call, team, parent, microtask, args)
            if parent is self.initial and self.region:
                self._arm_guest_forks(call, team, [])
            return
        self.busy = True
        try:
            self._fork_team(call, team, parent, microtask, args, args_ptr)
        finally:
            self.busy = False

    def _fork_team(self, call: ActiveCall, team: Team, parent: ThreadState, microtask: int, args: list[int],
                   args_ptr: int) -> None:
        """Members up to ``local_threads`` run on workers here; the rest are sent to the planner."""
        members = team.size - 1
        local = min(members, self.local_threads - 1) if self.local_threads else members
        if local < members and self.mode == "shared":
            raise OpenMPError("threads on other hosts need omp_mode 'snapshot' (they cannot share memory)")
        snapshot = self._prepare_shared(members) if self.mode == "shared" else self._prepare_snapshot(members, local)
        if self.team_sync:  # (a failed team may have left members counted in)
            _TEAM_SYNC.pack_into(self.root.memory.view, self.team_sync, 0, 0, 0)
        self.forks += 1
        if self.region:
            self._fork_parked(call, team, parent, microtask, len(args), args_ptr)
            return
        if local < members:
            remote.send_members(self, call, team, parent, range(local + 1, team.size), microtask, args, snapshot[1])

        def start_workers() -> None:  # as late as possible: a woken worker then finds the GIL free
            for tid in range(1, local + 1):
                worker = self.workers[tid - 1]
                worker.submit(functools.partial(self._run_member, worker, team, tid, microtask, args, snapshot))

        try:
            self._run_inline(call, team, parent, microtask, args, start_workers)
        except BaseException as error:  # noqa: B036 - reported after the workers stopped
            team.fail(error)
        team.join(parent, members)
        error, team.error = team.error, None  # raised below without a reference cycle through the team
        if error is None and snapshot is not None:
            self._merge(members)
        self._drain_output()
        if error is not None:
            try:
                raise error
            finally:
                del error  # else this frame and the error's traceback keep each other (and the granule) alive

    def _run_inline(self, call: ActiveCall, team: Team, parent: ThreadState, microtask: int, args: list[int],
                    ready: Callable[[], None] | None = None) -> None:
        """Run the calling thread's part; ``ready`` (starting the other members) runs just before it."""
        granule = call.granule
        self.enter(call, ThreadState(self, team, 0, parent.gtid, parent, granule, parent.blocking_factory))
        try:
            top = stack_pointer(granule, self.sp_index)
            call_microtask(granule, self.sp_index, top, microtask, parent.gtid, 0, args, ready)
        finally:
            self.enter(call, parent)

    def enter(self, call: ActiveCall, state: ThreadState) -> None:
        """Make ``state`` the calling thread's current one (and its guest slot's, if attached)."""
        call.scratch[SCRATCH_KEY] = state
        self.show(call.granule, state)

    def show(self, granule: "Granule", state: ThreadState) -> None:
        """Tell an attached instance its thread's team number and size."""
        handles = granule.extensions.get("openmp")  # (attaching creates them)
        if handles is not None and handles.slot:
            _SLOT.pack_into(granule.memory.view, handles.slot, state.tid, state.team_size)

    def _run_member(self, worker: Worker, team: Team, tid: int, microtask: int, args, snapshot) -> None:
        granule = worker.granule
        state = ThreadState(self, team, tid, worker.gtid, team.parent, granule)
        state.stack_top = worker.stack_top
        active = ActiveCall(granule, self.message, self.context)
        active.scratch[SCRATCH_KEY] = state
        self.show(granule, state)
        token = ACTIVE_CALL.set(active)
        try:
            granule.arm()  # a member's time limit
            call_microtask(granule, self.sp_index, worker.stack_top, microtask, worker.gtid, tid, args)
            if snapshot is not None:
                self.call_export(granule, FLUSH_EXPORT, [])  # its stdio buffers are private copies
                worker.diffs = self.diff(granule, snapshot[0])
        except BaseException as error:  # noqa: B036 - handed to the team, re-raised by the forking thread
            team.fail(error)
        finally:
            ACTIVE_CALL.reset(token)
            team.member_finished()

    # -- shared mode: regions started in the guest ----------------------------
    def _fork_parked(self, call: ActiveCall, team: Team, parent: ThreadState, microtask: int, argc: int,
                     args_ptr: int) -> None:
        """Publish the members' states, then let the guest start the parked workers, run thread 0 and join.

        The workers wait for regions inside the guest (:func:`_park`), so a
        region costs them no host call and, while they poll, no OS wake-up.
        """
        root = self.root
        members = team.size - 1
        view = root.memory.view
        generation = _I32.unpack_from(view, self.region)[0]
        _I32.pack_into(view, self.region + REGION_SPIN_NS, SPIN_NS if team.size <= self.cores else 0)
        self.parked_team = team  # (before the check below: a worker that stops from now on fails this team)
        workers = self.workers[:members]
        stopped = stopped_worker_error(workers)
        if stopped is not None:
            raise stopped
        for tid, worker in enumerate(workers, 1):
            state = ThreadState(self, team, tid, worker.gtid, team.parent, worker.granule)
            state.stack_top = worker.stack_top
            worker.call.scratch[SCRATCH_KEY] = state
            self.show(worker.granule, state)
            if not worker.parked:
                worker.parked, worker.region = True, self.region
                worker.submit(functools.partial(_park, weakref.ref(self), worker, generation,
                                                self.exports[PARK_EXPORT], self.sp_index))
        initial = ThreadState(self, team, 0, parent.gtid, parent, root, parent.blocking_factory)
        self.enter(call, initial)
        try:
            self.call_export(root, RUN_TEAM_EXPORT, [microtask, argc, args_ptr, members, parent.gtid])
        except BaseException as error:  # noqa: B036 - reported once the members stopped
            team.fail(error)
            started = _I32.unpack_from(view, self.region)[0]
            if started != generation:  # the members run: wait for them, as a failed team always does
                team.wait_for(lambda: self.members_done(members, started), initial, abortable=False)
        finally:
            self.enter(call, parent)
        error, team.error = team.error, None  # (a member's failure too: the guest joined it all the same)
        if error is None:  # (a worker that stopped while the region started)
            error = stopped_worker_error(workers)
        self._drain_output()
        if error is not None:
            try:
                raise error
            finally:
                del error  # else this frame and the error's traceback keep each other alive
        if parent is self.initial:
            self._arm_guest_forks(call, team, workers)

    def _arm_guest_forks(self, call: ActiveCall, team: Team, workers: list[Worker]) -> None:
        """Let the guest start the next regions of ``team``'s size itself (:mod:`openmp_shim.guest_forks`)."""
        self.guest_forks = GuestForks(self, call, team, workers)
        self.guest_forks.arm(call.memory.view)

    def disarm_guest_forks(self, call: ActiveCall) -> None:
        """Every fork goes through the host again (until one arms another team)."""
        if self.guest_forks is not None:
            self.guest_forks.disarm(call.memory.view)
            self.guest_forks = None

    def guest_join(self, call: ActiveCall) -> None:
        """After a region the guest forked itself: print the workers' output, and fail if a worker stopped."""
        self._drain_output()
        guest_forks = self.guest_forks
        if guest_forks is None or not guest_forks.failed(call.memory.view):
            return
        error, guest_forks.team.error = guest_forks.team.error, None
        error = error or stopped_worker_error(self.workers)
        if error is None:
            raise OpenMPError("an OpenMP thread stopped")
        try:
            raise error
        finally:
            del error

    def worker_failed(self, worker: Worker, error: BaseException) -> None:
        """A parked worker stopped: the team running now (or the next one) fails with ``error``."""
        with self.lock:
            if self.guest_forks is not None:  # (through its own mapping: the call's own may be gone)
                self.guest_forks.worker_failed(worker.granule.memory.view)
            if self.parked_team is not None:  # (harmless if that team is over)
                self.parked_team.fail(error)

    def nthreads_changed(self, call: ActiveCall, state: ThreadState) -> None:
        """``omp_set_num_threads`` changed ``state``'s ``nthreads-var``: the guest's forks must know."""
        if state is self.initial and self.guest_forks is not None:
            self.guest_forks.publish_threads(call.memory.view)

    def join_parked(self, state: ThreadState) -> None:
        """The guest join's slow path: block until the members of ``state``'s team finished (or one stopped)."""
        members = state.team.size - 1
        generation = _I32.unpack_from(self.root.memory.view, self.region)[0]
        workers = self.workers[:members]
        state.team.wait_for(lambda: self.members_done(members, generation) or any(w.failed for w in workers),
                            state, abortable=False)

    def members_done(self, members: int, generation: int) -> bool:
        """Whether workers 1..``members`` have finished region ``generation``."""
        view = self.root.memory.view
        base = self.region + REGION_DONE
        return all(_I32.unpack_from(view, base + 4 * gtid)[0] == generation for gtid in range(1, members + 1))

    # -- shared mode ------------------------------------------------------
    def _prepare_shared(self, workers: int) -> None:
        root = self.root
        if self.shared is None:
            root.memory.refresh()
            size = root.memory.size
            cap = root.limits.memory_bytes
            target = min(cap - cap // 8 - WASM_PAGE, size + HEADROOM) // WASM_PAGE * WASM_PAGE
            target = max(target, size + (workers + 1) * STACK_SIZE)
            if target > cap:
                raise OpenMPError(f"memory cap of {cap} bytes leaves no room for {workers} thread stacks")
            self.shared = SharedMemory(root.proto.name.replace("/", "-"), root.memory.view, target)
            self.shared.map_into(root)
            self.brk, self.stack_floor = size, target
        for worker in self._ensure_workers(workers):
            if worker.granule is None:
                with self.lock:
                    if self.stack_floor - STACK_SIZE < self.brk:
                        raise OpenMPError("no memory left for another thread's stack")
                    self.stack_floor -= STACK_SIZE
                    worker.stack_top = self.stack_floor + STACK_SIZE
                worker.granule = new_instance(root, self._wasi(), None)
                self.shared.map_into(worker.granule)
                set_globals(worker.granule, root.read_globals())  # (the stack pointer is set per call)
                self._attach(worker.granule, worker.gtid)
                worker.call = ActiveCall(worker.granule, self.message, self.context, {WORKER_KEY: worker})
        return None

    def _attach_root(self) -> None:
        """Attach the call's own instance from its first OpenMP call on (shared mode).

        Its static loops and barriers then run in the guest even in teams of
        one; the slot lives in its memory, which the first fork shares as is.
        """
        if ATTACH_EXPORT in self.exports and self.sp_index is not None:
            root = self.root
            self.team_sync = self.call_export(root, TEAM_SYNC_EXPORT, [])
            self._attach(root, 0)
            self.show(root, self.initial)
            if REGION_EXPORT in self.exports:
                self.region = self.call_export(root, REGION_EXPORT, [])

    def _attach(self, granule: "Granule", gtid: int) -> None:
        """Give an instance guest slot ``gtid``: its static loops and barriers then skip the host."""
        if self.team_sync:
            Handles.of(granule, self.sp_index).slot = self.call_export(granule, ATTACH_EXPORT, [gtid])

    def sbrk(self, granule: "Granule", increment: int) -> int:
        """wasi-libc's ``sbrk``, for the heap every member of a team sees; -1 if out of memory."""
        if increment < 0 or increment % WASM_PAGE:
            raise OpenMPError(f"sbrk({increment}): only whole wasm pages can be added")
        if self.brk is None:  # no shared memory: plain memory.grow of the caller
            memory = memory_of(granule)
            if increment == 0:
                return raw.memory_size(granule.ctx, memory)
            previous = raw.memory_grow(granule.ctx, memory, increment // WASM_PAGE)
            granule.memory.refresh()
            return -1 if previous is None else previous * WASM_PAGE
        with self.lock:
            if self.brk + increment > self.stack_floor:
                return -1
            previous = self.brk
            if increment:
                # Give the new heap its pages now, in one call: threads touching them later only map them
                # (page by page, allocating them cost a fault each, serialised across threads); and a host
                # short of memory fails this sbrk instead of killing the process with SIGBUS at a touch.
                try:
                    os.posix_fallocate(self.shared.fd, previous, increment)
                except OSError:
                    return -1
            self.brk = previous + increment
            return previous

    # -- snapshot mode ------------------------------------------------------
    def _prepare_snapshot(self, members: int, local: int) -> tuple[memoryview, ForkSnapshot]:
        """Stacks for ``members`` workers, the snapshot, and instances restored from it for the ``local`` ones."""
        root = self.root
        for worker in self._ensure_workers(members):
            if not worker.stack_top:
                previous = raw.memory_grow(root.ctx, memory_of(root), STACK_SIZE // WASM_PAGE)
                if previous is None:
                    raise OpenMPError("memory cap leaves no room for another thread's stack")
                worker.stack_top = previous * WASM_PAGE + STACK_SIZE
        self.call_export(root, FLUSH_EXPORT, [])  # else each thread would print the parent's buffer again
        root.memory.refresh()
        snapshot = ForkSnapshot(root.proto.name.replace("/", "-"), root.memory.view, root.read_globals())
        contents = snapshot.contents()
        for worker in self.workers[:members]:
            worker.diffs = []
        for worker in self.workers[:local]:
            granule = worker.granule
            if granule is not None and granule.memory.size == snapshot.size:
                granule.reset(self._wasi(), snapshot)
            else:
                worker.granule = new_instance(root, self._wasi(), snapshot)
        return contents, snapshot

    def diff(self, granule: "Granule", original: memoryview) -> list[SnapshotDiff]:
        """What a member's instance changed since the fork: plain data, as it travels from another host."""
        memory = granule.memory
        memory.refresh()
        return diff_memory(original, memory.view, sorted(self.merge_regions.values()), written_pages(granule))

    def _merge(self, members: int) -> None:
        """Merge each member's diffs into the parent's memory, in thread order."""
        root = self.root
        for worker in self.workers[:members]:
            diffs, worker.diffs = worker.diffs, []
            end = max((diff.offset + len(diff.data) for diff in diffs), default=0)
            if end > root.memory.size:
                grow_to(root, end)
            apply_diffs(root.memory.view, diffs)

    # -- helpers ------------------------------------------------------------
    def _ensure_workers(self, count: int) -> list[Worker]:
        while len(self.workers) < count:
            self.workers.append(Worker(len(self.workers) + 1, self.root.proto.name.replace("/", "-")))
        return self.workers[:count]

    def _wasi(self) -> wasmtime.WasiConfig:
        wasi = wasmtime.WasiConfig()
        wasi.argv = [self.message.function]
        if self.message.env:
            wasi.env = list(self.message.env.items())
        wasi.stdout_custom = _output_sink(self, 1)  # (faabric cc -fopenmp builds send output to the host)
        wasi.stderr_custom = _output_sink(self, 2)
        uses = getattr(self.root.proto, "wasi_imports", ("fd_prestat_get",))
        if self.sandbox is not None and "fd_prestat_get" in uses:  # as the runtime does for the call
            os.makedirs(self.sandbox, exist_ok=True)
            wasi.preopen_dir(self.sandbox, "/")
        return wasi

    def take_output(self, fd: int, data: bytes) -> None:
        with self.lock:
            self._outputs.append((fd, bytes(data)))

    def _drain_output(self) -> None:
        """Write what the workers printed through the parent's own stdout/stderr."""
        with self.lock:
            if self.guest_forks is not None:  # (the root drains: its own mapping)
                self.guest_forks.output_taken(self.root.memory.view)
            outputs, self._outputs = self._outputs, []
        if not outputs:
            return
        root = self.root
        scratch = ((stack_pointer(root, self.sp_index) - _OUTPUT_PIECE - 64) & ~15)
        for fd, data in outputs:
            for start in range(0, len(data), _OUTPUT_PIECE):
                piece = data[start:start + _OUTPUT_PIECE]
                root.memory.write(scratch, piece, "thread output")
                self.call_export(root, WRITE_EXPORT, [fd, scratch, len(piece)])

    def call_export(self, granule: "Granule", name: str, args: list[int]) -> int:
        index = self.exports.get(name)
        if index is None:
            raise OpenMPError(f"the module lacks {name}: build it with `faabric cc -fopenmp`")
        func = raw.export_at(granule.ctx, granule.instance, index).of.func
        try:
            return raw.call(granule.ctx, func, args, "i")
        except (wasmtime.Trap, wasmtime.WasmtimeError) as error:
            raise granule.classify(error) from None

    def threadprivate(self, state: ThreadState, memory, data: int, size: int) -> int:
        """The calling thread's copy of threadprivate ``data`` (the initial thread uses the original)."""
        with self.lock:
            initial = self.threadprivate_init.get(data)
            if initial is None:
                initial = self.threadprivate_init[data] = memory.read(data, size, "threadprivate variable")
        if state.gtid == 0:
            return data
        worker = self.workers[state.gtid - 1]
        copy = worker.threadprivate.get(data)
        if copy is None:
            copy = worker.threadprivate[data] = worker.threadprivate_block(size)
            memory.write(copy, initial, "threadprivate copy")
        return copy

    def register_merge_region(self, region: MergeRegion) -> None:
        """Merge ``region`` with its operation at the joins of later regions (snapshot mode)."""
        with self.lock:
            for other in self.merge_regions.values():
                if other.offset != region.offset and other.offset < region.end and region.offset < other.end:
                    raise OpenMPError(f"merge region at {region.offset:#x} overlaps the one at {other.offset:#x}")
            self.merge_regions[region.offset] = region


def _park(program_ref: "weakref.ref[OpenMPProgram]", worker: Worker, seen: int, park: int, sp_index: int) -> None:
    """A worker's thread for the rest of the call: run regions in the guest until :meth:`Worker.close`.

    If a region fails in it (or its time runs out while it waits), the
    worker marks itself done, fails the team and stops; a later fork
    reports it. Holds the program weakly: the call's end must finalize it.
    """
    granule = worker.granule
    token = ACTIVE_CALL.set(worker.call)
    try:
        granule.arm()  # (workers live for one call)
        func = raw.export_at(granule.ctx, granule.instance, park).of.func
        call_on_stack(granule, sp_index, worker.stack_top, func, [worker.gtid, seen])
    except BaseException as error:  # noqa: B036 - handed to the team, re-raised by the forking thread
        worker.failed = f"{type(error).__name__}: {error}"  # (not the error: its traceback will hold the program)
        program = program_ref()
        if program is not None:  # (first: a join that sees this worker done must also see it failed)
            program.worker_failed(worker, error)
        del program
        view = granule.memory.view
        generation = _I32.unpack_from(view, worker.region)[0]
        _I32.pack_into(view, worker.region + REGION_DONE + 4 * worker.gtid, generation)
    finally:
        ACTIVE_CALL.reset(token)
        worker.parked = False


def _positive(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        return 0
    return max(value, 0)


def _output_sink(program: OpenMPProgram, fd: int):
    """A WASI output callback that does not keep ``program`` alive (wasmtime keeps callbacks globally)."""
    program_ref = weakref.ref(program)

    def sink(data: bytes) -> None:
        target = program_ref()
        if target is not None:
            target.take_output(fd, data)

    return sink


def _close(workers: list[Worker]) -> None:
    for worker in workers:
        worker.close()
