"""Host functions of the OpenMP runtime: the ``__kmpc_*`` ABI and the ``omp_*`` API.

Every function finds the calling thread in its ``ActiveCall.scratch`` (the
``gtid`` arguments clang passes are not trusted). Guest pointers go through
the granule's bounds-checked memory. Tasks, ``__kmpc_flush`` and the heap
and stdio wrappers live in the guest half, ``guest/omp_runtime.c``.
"""

from __future__ import annotations

import os
import queue
import struct
import time

from faabric.exceptions import OpenMPError
from faabric.snapshot import DataType, MergeOp, MergeRegion
from faabric.snapshot.merge import element_size
from granules import raw
from granules.context import ActiveCall
from openmp_shim import abi, sync
from openmp_shim.program import SCRATCH_KEY, WORKER_KEY, OpenMPProgram
from openmp_shim.team import WAIT_SLICE, Team, ThreadState
from openmp_shim.workers import call_microtask, stack_pointer, table_function

_INT = {4: ("<i", "<I"), 8: ("<q", "<Q")}
_I32 = struct.Struct("<i")
_CRITICAL_LOCAL = -1  # lock key of FAASM_CRITICAL_LOCAL sections


def thread(call: ActiveCall) -> ThreadState:
    return OpenMPProgram.of(call)


# -- parallel regions ---------------------------------------------------------
def _microtask_args(call: ActiveCall, argc: int, args_ptr: int, what: str) -> list[int]:
    """The ``argc`` shared-argument pointers of a microtask, read from guest memory at ``args_ptr``."""
    if argc < 0 or argc > 4096:
        raise OpenMPError(f"{what} with {argc} arguments")
    return list(struct.unpack(f"<{argc}I", call.memory.read(args_ptr, 4 * argc, "fork arguments"))) if argc else []


def fork_call(call: ActiveCall, loc: int, argc: int, microtask: int, args_ptr: int) -> None:
    """``__kmpc_fork_call``: run ``microtask(gtid*, tid*, shared...)`` on a team."""
    state = thread(call)
    args = _microtask_args(call, argc, args_ptr, "__kmpc_fork_call")
    state.program.fork(call, state, microtask, args, args_ptr)


def park_wait(call: ActiveCall, generation_ptr: int, seen: int) -> None:
    """A parked worker's slow path: block until the region generation at ``generation_ptr`` is no longer ``seen``."""
    worker = call.scratch.get(WORKER_KEY)
    if worker is None:
        raise OpenMPError("only a team's worker waits for parallel regions")
    memory = call.memory
    offset = memory.check(generation_ptr, 4, "region generation")
    while _I32.unpack_from(memory.view, offset)[0] == seen:
        try:
            worker.park_wakeup.get(timeout=WAIT_SLICE)
        except queue.Empty:
            pass


def park_wake(call: ActiveCall, gtid: int) -> None:
    """A region starts: wake worker ``gtid``, blocked in :func:`park_wait`."""
    workers = thread(call).program.workers
    if not 1 <= gtid <= len(workers):
        raise OpenMPError(f"no OpenMP worker {gtid}")
    workers[gtid - 1].park_wakeup.put(None)


def join_wait(call: ActiveCall) -> None:
    """The guest join's slow path: block until the team's workers have finished the region."""
    state = thread(call)
    if state.team is None or not state.program.region:
        raise OpenMPError("join outside a team started in the guest")
    state.program.join_parked(state)


def join_wake(call: ActiveCall) -> None:
    """A worker finished while the forking thread is blocked in :func:`join_wait`: wake it."""
    team = thread(call).team
    if team is not None:
        with team.lock:
            team.notify_all()


def guest_join(call: ActiveCall) -> None:
    """The end of a region the guest forked itself, when workers wrote output or one stopped."""
    thread(call).program.guest_join(call)


def call_guest_microtask(call: ActiveCall, microtask: int, gtid: int, tid: int, argc: int, args_ptr: int) -> None:
    """Run a microtask whose arguments are too many for the guest to pass itself."""
    args = _microtask_args(call, argc, args_ptr, "a microtask")
    program = thread(call).program
    granule = call.granule
    call_microtask(granule, program.sp_index, stack_pointer(granule, program.sp_index), microtask, gtid, tid, args)


def push_num_threads(call: ActiveCall, loc: int, gtid: int, count: int) -> None:
    thread(call).pushed = max(count, 0)


def global_thread_num(call: ActiveCall, loc: int) -> int:
    """(Modules built by ``faabric cc -fopenmp`` answer this in the guest, without a host call.)"""
    return thread(call).gtid


def serialized_parallel(call: ActiveCall, loc: int, gtid: int) -> None:
    """``parallel if(0)``: the encountering thread alone is the team."""
    state = thread(call)
    team = Team(1, state)
    state.program.enter(call, ThreadState(state.program, team, 0, state.gtid, state, state.granule,
                                          state.blocking_factory))


def end_serialized_parallel(call: ActiveCall, loc: int, gtid: int) -> None:
    state = thread(call)
    if state.parent is None:
        raise OpenMPError("__kmpc_end_serialized_parallel without a serialized region")
    state.program.enter(call, state.parent)


# -- worksharing loops ------------------------------------------------------------
def _static_init(width: int, signed: bool):
    fmt = _INT[width][0 if signed else 1]
    sfmt = _INT[width][0]

    def static_init(call, loc, gtid, schedule, p_last, p_lower, p_upper, p_stride, incr, chunk) -> None:
        state = thread(call)
        kind, _ = abi.schedule_kind(schedule, for_static_init=True)
        memory = call.memory
        lower = struct.unpack(fmt, memory.read(p_lower, width, "loop lower bound"))[0]
        upper = struct.unpack(fmt, memory.read(p_upper, width, "loop upper bound"))[0]
        memory.check(p_stride, width, "loop stride")
        bounds = abi.static_bounds(kind, state.tid, state.team_size, lower, upper, incr, chunk)
        bits = width * 8
        memory.write(p_lower, struct.pack(fmt, abi.wrap(bounds.lower, bits, signed)), "loop lower bound")
        memory.write(p_upper, struct.pack(fmt, abi.wrap(bounds.upper, bits, signed)), "loop upper bound")
        memory.write(p_stride, struct.pack(sfmt, abi.wrap(bounds.stride, bits, True)), "loop stride")
        if p_last:
            memory.write_i32(p_last, int(bounds.last), "last-iteration flag")

    return static_init


def for_static_fini(call: ActiveCall, loc: int, gtid: int) -> None:
    thread(call)


def _dispatch_init(width: int, signed: bool):
    def dispatch_init(call, loc, gtid, schedule, lower, upper, stride, chunk) -> None:
        state = thread(call)
        kind, ordered = abi.schedule_kind(schedule)
        if kind == "runtime":
            kind, chunk = abi.runtime_schedule(*state.program.run_sched)
        bits = width * 8
        lower, upper = abi.wrap(lower, bits, signed), abi.wrap(upper, bits, signed)
        if ordered:
            kind, chunk = "dynamic", 1  # one iteration at a time, handed out in order
        state.loops_started += 1
        state.loop_ordinal = state.loops_started
        team = state.team or Team(1, state)
        state.loop = team.start_loop(
            state.loop_ordinal,
            lambda: abi.DispatchLoop(kind, ordered, lower, upper, stride, chunk, state.team_size),
        )
        state.loop_team = team

    return dispatch_init


def _dispatch_next(width: int, signed: bool):
    value = struct.Struct(_INT[width][0 if signed else 1])
    stride_value = struct.Struct(_INT[width][0])

    def dispatch_next(call, loc, gtid, p_last, p_lower, p_upper, p_stride) -> int:
        state = thread(call)
        loop = state.loop
        if loop is None:
            raise OpenMPError("__kmpc_dispatch_next outside a dispatched loop")
        team = state.loop_team
        with team.lock:
            chunk = loop.next_chunk(state.tid)
            if chunk is None:
                loop.finished.add(state.tid)
        if chunk is None:
            state.loop = None
            team.finish_loop(state.loop_ordinal)
            return 0
        first, last = chunk
        memory = call.memory  # bounds stay inside the loop's own range: no wrapping needed
        lower_at = memory.check(p_lower, width, "chunk lower bound")
        upper_at = memory.check(p_upper, width, "chunk upper bound")
        stride_at = memory.check(p_stride, width, "chunk stride") if p_stride else None
        view = memory.view  # (read after the checks: they may refresh it)
        value.pack_into(view, lower_at, loop.lower + first * loop.stride)
        value.pack_into(view, upper_at, loop.lower + last * loop.stride)
        if stride_at is not None:
            stride_value.pack_into(view, stride_at, loop.stride)
        if p_last:
            memory.write_i32(p_last, int(last == loop.trips - 1), "last-chunk flag")
        state.current_iteration = first
        state.did_ordered = False
        return 1

    return dispatch_next


def dispatch_fini(call: ActiveCall, loc: int, gtid: int) -> None:
    """End of one iteration of an ordered loop: pass the turn on if it had no ordered region."""
    state = thread(call)
    loop = state.loop
    if loop is None or not loop.ordered:
        return
    if not state.did_ordered:
        _wait_turn(state)
        _pass_turn(state)
    state.current_iteration += 1
    state.did_ordered = False


def ordered(call: ActiveCall, loc: int, gtid: int) -> None:
    state = thread(call)
    if state.loop is None or not state.loop.ordered:
        return  # ordered outside an ordered dispatch loop (e.g. one thread): nothing to order
    _wait_turn(state)


def end_ordered(call: ActiveCall, loc: int, gtid: int) -> None:
    state = thread(call)
    if state.loop is None or not state.loop.ordered:
        return
    _pass_turn(state)
    state.did_ordered = True


def _wait_turn(state: ThreadState) -> None:
    loop = state.loop
    state.loop_team.wait_for(lambda: loop.ordered_next >= state.current_iteration, state)


def _pass_turn(state: ThreadState) -> None:
    team = state.loop_team
    with team.lock:
        state.loop.ordered_next = state.current_iteration + 1
        team.notify_all()


# -- synchronisation ---------------------------------------------------------------
def barrier(call: ActiveCall, loc: int, gtid: int) -> None:
    state = thread(call)
    if state.team is not None:
        state.team.barrier(state)


def barrier_wait(call: ActiveCall, generation_ptr: int, seen: int) -> None:
    """The guest barrier's slow path: block until the generation at ``generation_ptr`` is no longer ``seen``."""
    state = thread(call)
    if state.team is None:
        raise OpenMPError("guest barrier outside a team")
    memory = call.memory
    offset = memory.check(generation_ptr, 4, "barrier generation")
    state.team.wait_for(lambda: _I32.unpack_from(memory.view, offset)[0] != seen, state)


def barrier_wake(call: ActiveCall) -> None:
    """The last member reached the guest barrier: wake the members blocked in :func:`barrier_wait`."""
    team = thread(call).team
    if team is not None:
        with team.lock:
            team.notify_all()


def critical(call: ActiveCall, loc: int, gtid: int, name_ptr: int) -> None:
    state = thread(call)
    call.memory.check(name_ptr, 4, "critical section name")
    sync.enter_critical(state, name_ptr)


def critical_with_hint(call: ActiveCall, loc: int, gtid: int, name_ptr: int, hint: int) -> None:
    critical(call, loc, gtid, name_ptr)


def end_critical(call: ActiveCall, loc: int, gtid: int, name_ptr: int) -> None:
    sync.leave_critical(thread(call), name_ptr)


def master(call: ActiveCall, loc: int, gtid: int) -> int:
    return int(thread(call).tid == 0)


def masked(call: ActiveCall, loc: int, gtid: int, filter_tid: int) -> int:
    return int(thread(call).tid == filter_tid)


def nothing(call: ActiveCall, loc: int, gtid: int) -> None:
    """``end_master``, ``end_masked``, ``end_single``, ``for_static_fini``: no work."""


def single(call: ActiveCall, loc: int, gtid: int) -> int:
    state = thread(call)
    state.singles += 1
    if state.team is None or state.team.size == 1:
        return 1
    return int(state.team.claim_single(state.singles))


def copyprivate(call: ActiveCall, loc: int, gtid: int, size: int, data_ptr: int, copy_func: int, didit: int) -> None:
    """Broadcast the single thread's private values: the others copy them with ``copy_func``."""
    state = thread(call)
    team = state.team
    if team is None or team.size == 1:
        return
    state.copyprivates += 1
    ordinal = state.copyprivates
    if state.program.mode == "snapshot":
        raise OpenMPError("copyprivate needs shared memory; it is not supported in snapshot mode")
    if didit:
        with team.lock:
            team.copyprivate[ordinal] = data_ptr
    team.barrier(state)
    if not didit:
        with team.lock:
            source = team.copyprivate[ordinal]
        func = table_function(call.granule, copy_func)  # the copy runs in this thread's own instance
        raw.call(call.granule.ctx, func, [data_ptr, source], None)
    team.barrier(state)
    if didit:
        with team.lock:
            team.copyprivate.pop(ordinal, None)


# -- reductions ---------------------------------------------------------------------
def reduce_nowait(call, loc, gtid, num_vars, size, data_ptr, reduce_func, lock_ptr) -> int:
    """Return 1: this thread combines its values into the shared ones, under the reduction lock."""
    state = thread(call)
    return sync.start_reduction(state, call, data_ptr, reduce_func, lock_ptr, blocking=False)


def reduce(call, loc, gtid, num_vars, size, data_ptr, reduce_func, lock_ptr) -> int:
    state = thread(call)
    return sync.start_reduction(state, call, data_ptr, reduce_func, lock_ptr, blocking=True)


def end_reduce_nowait(call: ActiveCall, loc: int, gtid: int, lock_ptr: int) -> None:
    sync.end_reduction(thread(call), lock_ptr, blocking=False)


def end_reduce(call: ActiveCall, loc: int, gtid: int, lock_ptr: int) -> None:
    sync.end_reduction(thread(call), lock_ptr, blocking=True)


def threadprivate_cached(call: ActiveCall, loc: int, gtid: int, data: int, size: int, cache: int) -> int:
    """``threadprivate`` variables: the address of the calling thread's own copy."""
    state = thread(call)
    if not 0 < size <= 1 << 20:
        raise OpenMPError(f"threadprivate variable of {size} bytes")
    return state.program.threadprivate(state, call.memory, data & 0xFFFFFFFF, size)


def sm_reduce(call: ActiveCall, var_ptr: int, var_type: int, op: int, current_batch: int) -> None:
    """``__faasm_sm_reduce`` (FAASM_REDUCE): merge ``var`` with ``op`` at the joins of later regions."""
    state = thread(call)
    try:
        data_type, operation = DataType(var_type), MergeOp(op)
    except ValueError:
        raise OpenMPError(f"__faasm_sm_reduce: unknown type {var_type} or operation {op}") from None
    size = element_size(data_type)
    if size == 0:
        raise OpenMPError("__faasm_sm_reduce: a RAW variable has no size; use a typed variable")
    offset = call.memory.check(var_ptr, size, "reduction variable")
    state.program.register_merge_region(MergeRegion(offset, size, data_type, operation))


def sm_critical_local(call: ActiveCall) -> None:
    sync.enter_critical(thread(call), _CRITICAL_LOCAL)


def sm_critical_local_end(call: ActiveCall) -> None:
    sync.leave_critical(thread(call), _CRITICAL_LOCAL)


# -- the omp_* API ---------------------------------------------------------------------
def set_num_threads(call: ActiveCall, count: int) -> None:
    if count > 0:
        state = thread(call)
        state.nthreads = count
        state.program.nthreads_changed(call, state)


def get_num_threads(call: ActiveCall) -> int:
    return thread(call).team_size


def get_max_threads(call: ActiveCall) -> int:
    state = thread(call)
    return min(state.nthreads, state.program.thread_limit)


def get_thread_num(call: ActiveCall) -> int:
    return thread(call).tid


def get_num_procs(call: ActiveCall) -> int:
    return thread(call).program.cores


def in_parallel(call: ActiveCall) -> int:
    return int(thread(call).active_level > 0)


def set_dynamic(call: ActiveCall, value: int) -> None:
    thread(call).program.dynamic = bool(value)


def get_dynamic(call: ActiveCall) -> int:
    return int(thread(call).program.dynamic)


def set_nested(call: ActiveCall, value: int) -> None:
    thread(call)  # nested regions run serialized: max-active-levels stays 1


def get_nested(call: ActiveCall) -> int:
    return int(thread(call).program.max_active_levels > 1)


def get_thread_limit(call: ActiveCall) -> int:
    return thread(call).program.thread_limit


def set_max_active_levels(call: ActiveCall, levels: int) -> None:
    """Only one active level is supported: larger requests are capped (as the spec allows)."""
    if levels >= 0:
        program = thread(call).program
        program.max_active_levels = min(levels, 1)
        program.disarm_guest_forks(call)  # (0 makes every region inactive: the guest's forks would not know)


def get_max_active_levels(call: ActiveCall) -> int:
    return thread(call).program.max_active_levels


def get_level(call: ActiveCall) -> int:
    return thread(call).level


def get_active_level(call: ActiveCall) -> int:
    return thread(call).active_level


def get_ancestor_thread_num(call: ActiveCall, level: int) -> int:
    for state in thread(call).ancestors():
        if state.level == level:
            return state.tid
    return -1


def get_team_size(call: ActiveCall, level: int) -> int:
    for state in thread(call).ancestors():
        if state.level == level:
            return state.team_size
    return -1


def set_schedule(call: ActiveCall, kind: int, chunk: int) -> None:
    if kind & 0x7FFFFFFF not in (1, 2, 3, 4):
        raise OpenMPError(f"omp_set_schedule: unknown schedule kind {kind}")
    thread(call).program.run_sched = (kind, chunk)


def get_schedule(call: ActiveCall, kind_ptr: int, chunk_ptr: int) -> None:
    kind, chunk = thread(call).program.run_sched
    call.memory.write_i32(kind_ptr, kind, "schedule kind")
    call.memory.write_i32(chunk_ptr, chunk, "chunk size")


def get_num_devices(call: ActiveCall) -> int:
    return 0


def set_default_device(call: ActiveCall, device: int) -> None:
    """There are no devices: the host is the only one."""


def get_default_device(call: ActiveCall) -> int:
    return 0


def is_initial_device(call: ActiveCall) -> int:
    return 1


def zero(call: ActiveCall) -> int:
    """``omp_get_proc_bind`` (false), ``get_num_places``, ``get_cancellation``, ``get_max_task_priority``,
    ``get_initial_device`` (the host is device 0): no places, no cancellation, no priorities."""
    return 0


def get_supported_active_levels(call: ActiveCall) -> int:
    return 1


def init_lock_with_hint(call: ActiveCall, lock_ptr: int, hint: int) -> None:
    sync.init_lock(call, lock_ptr)


def init_nest_lock_with_hint(call: ActiveCall, lock_ptr: int, hint: int) -> None:
    sync.init_nest_lock(call, lock_ptr)


def get_wtime(call: ActiveCall) -> float:
    return time.monotonic()


def get_wtick(call: ActiveCall) -> float:
    return time.get_clock_info("monotonic").resolution


# -- helpers for the guest half -----------------------------------------------------
def omp_sbrk(call: ActiveCall, increment: int) -> int:
    return thread(call).program.sbrk(call.granule, increment)


def omp_output(call: ActiveCall, fd: int, iovs: int, count: int) -> int:
    """Take what a team's worker writes to stdout/stderr; -1 tells the parent to write it itself."""
    state = call.scratch.get(SCRATCH_KEY)
    if state is None or call.granule is state.program.root:
        return -1
    if not 0 <= count <= 1024:
        raise OpenMPError(f"fd_write with {count} buffers")
    parts = []
    for index in range(count):
        pointer, length = struct.unpack("<II", call.memory.read(iovs + 8 * index, 8, "iovec"))
        parts.append(call.memory.read(pointer, length, "output buffer"))
    data = b"".join(parts)
    state.program.take_output(fd, data)
    return len(data)


def omp_yield(call: ActiveCall) -> None:
    """A guest spin lock is taken: let its holder run (and stop if the team failed)."""
    thread(call).check_abort()
    os.sched_yield()


def stdio_lock(call: ActiveCall) -> None:
    state = thread(call)
    stdio = state.program.stdio
    if not stdio.acquire(blocking=False):
        with state.blocking():
            while not stdio.acquire(timeout=WAIT_SLICE):
                state.check_abort()


def stdio_unlock(call: ActiveCall) -> None:
    try:
        thread(call).program.stdio.release()
    except RuntimeError:
        raise OpenMPError("stdio lock released by a thread that does not hold it") from None


_FUNCTIONS = [
    ("__kmpc_fork_call", "iiii", "", fork_call),
    ("__kmpc_push_num_threads", "iii", "", push_num_threads),
    ("__faabric_omp_fork_call", "iiii", "", fork_call),  # the guest's fork, when it cannot start the team itself
    ("__faabric_omp_push_num_threads", "iii", "", push_num_threads),
    ("__faabric_omp_guest_join", "", "", guest_join),
    ("__kmpc_global_thread_num", "i", "i", global_thread_num),
    ("__kmpc_serialized_parallel", "ii", "", serialized_parallel),
    ("__kmpc_end_serialized_parallel", "ii", "", end_serialized_parallel),
    # static loops: clang's names, and the guest runtime's fallbacks when it cannot answer itself
    *(
        (f"{prefix}{width}{'' if signed else 'u'}", "iiiiiiiii" if width == 4 else "iiiiiiiII", "", _static_init(width, signed))
        for prefix in ("__kmpc_for_static_init_", "__faabric_omp_static_init_")
        for width in (4, 8)
        for signed in (True, False)
    ),
    ("__kmpc_for_static_fini", "ii", "", nothing),
    ("__faabric_omp_barrier", "ii", "", barrier),
    ("__faabric_omp_barrier_wait", "ii", "", barrier_wait),
    ("__faabric_omp_barrier_wake", "", "", barrier_wake),
    ("__faabric_omp_park_wait", "ii", "", park_wait),
    ("__faabric_omp_park_wake", "i", "", park_wake),
    ("__faabric_omp_join_wait", "", "", join_wait),
    ("__faabric_omp_join_wake", "", "", join_wake),
    ("__faabric_omp_call_microtask", "iiiii", "", call_guest_microtask),
    ("__kmpc_dispatch_init_4", "iiiiiii", "", _dispatch_init(4, True)),
    ("__kmpc_dispatch_init_4u", "iiiiiii", "", _dispatch_init(4, False)),
    ("__kmpc_dispatch_init_8", "iiiIIII", "", _dispatch_init(8, True)),
    ("__kmpc_dispatch_init_8u", "iiiIIII", "", _dispatch_init(8, False)),
    ("__kmpc_dispatch_next_4", "iiiiii", "i", _dispatch_next(4, True)),
    ("__kmpc_dispatch_next_4u", "iiiiii", "i", _dispatch_next(4, False)),
    ("__kmpc_dispatch_next_8", "iiiiii", "i", _dispatch_next(8, True)),
    ("__kmpc_dispatch_next_8u", "iiiiii", "i", _dispatch_next(8, False)),
    ("__kmpc_dispatch_fini_4", "ii", "", dispatch_fini),
    ("__kmpc_dispatch_fini_4u", "ii", "", dispatch_fini),
    ("__kmpc_dispatch_fini_8", "ii", "", dispatch_fini),
    ("__kmpc_dispatch_fini_8u", "ii", "", dispatch_fini),
    ("__kmpc_barrier", "ii", "", barrier),
    ("__kmpc_critical", "iii", "", critical),
    ("__kmpc_critical_with_hint", "iiii", "", critical_with_hint),
    ("__kmpc_end_critical", "iii", "", end_critical),
    ("__kmpc_master", "ii", "i", master),
    ("__kmpc_end_master", "ii", "", nothing),
    ("__kmpc_masked", "iii", "i", masked),
    ("__kmpc_end_masked", "ii", "", nothing),
    ("__kmpc_single", "ii", "i", single),
    ("__kmpc_end_single", "ii", "", nothing),
    ("__kmpc_copyprivate", "iiiiii", "", copyprivate),
    ("__kmpc_reduce_nowait", "iiiiiii", "i", reduce_nowait),
    ("__kmpc_reduce", "iiiiiii", "i", reduce),
    ("__kmpc_end_reduce_nowait", "iii", "", end_reduce_nowait),
    ("__kmpc_end_reduce", "iii", "", end_reduce),
    ("__kmpc_ordered", "ii", "", ordered),
    ("__kmpc_end_ordered", "ii", "", end_ordered),
    ("__kmpc_threadprivate_cached", "iiiii", "i", threadprivate_cached),
    ("__faasm_sm_reduce", "iiii", "", sm_reduce),
    ("__faasm_sm_critical_local", "", "", sm_critical_local),
    ("__faasm_sm_critical_local_end", "", "", sm_critical_local_end),
    ("omp_set_num_threads", "i", "", set_num_threads),
    ("omp_get_num_threads", "", "i", get_num_threads),
    ("omp_get_max_threads", "", "i", get_max_threads),
    ("omp_get_thread_num", "", "i", get_thread_num),
    ("omp_get_num_procs", "", "i", get_num_procs),
    ("omp_in_parallel", "", "i", in_parallel),
    ("omp_set_dynamic", "i", "", set_dynamic),
    ("omp_get_dynamic", "", "i", get_dynamic),
    ("omp_set_nested", "i", "", set_nested),
    ("omp_get_nested", "", "i", get_nested),
    ("omp_get_thread_limit", "", "i", get_thread_limit),
    ("omp_set_max_active_levels", "i", "", set_max_active_levels),
    ("omp_get_max_active_levels", "", "i", get_max_active_levels),
    ("omp_get_level", "", "i", get_level),
    ("omp_get_active_level", "", "i", get_active_level),
    ("omp_get_ancestor_thread_num", "i", "i", get_ancestor_thread_num),
    ("omp_get_team_size", "i", "i", get_team_size),
    ("omp_set_schedule", "ii", "", set_schedule),
    ("omp_get_schedule", "ii", "", get_schedule),
    ("omp_get_num_devices", "", "i", get_num_devices),
    ("omp_set_default_device", "i", "", set_default_device),
    ("omp_get_default_device", "", "i", get_default_device),
    ("omp_is_initial_device", "", "i", is_initial_device),
    ("omp_get_initial_device", "", "i", zero),
    ("omp_get_supported_active_levels", "", "i", get_supported_active_levels),
    ("omp_get_proc_bind", "", "i", zero),
    ("omp_get_num_places", "", "i", zero),
    ("omp_get_cancellation", "", "i", zero),
    ("omp_get_max_task_priority", "", "i", zero),
    ("omp_init_lock_with_hint", "ii", "", init_lock_with_hint),
    ("omp_init_nest_lock_with_hint", "ii", "", init_nest_lock_with_hint),
    ("omp_get_wtime", "", "F", get_wtime),
    ("omp_get_wtick", "", "F", get_wtick),
    ("omp_init_lock", "i", "", sync.init_lock),
    ("omp_destroy_lock", "i", "", sync.destroy_lock),
    ("omp_set_lock", "i", "", sync.set_lock),
    ("omp_unset_lock", "i", "", sync.unset_lock),
    ("omp_test_lock", "i", "i", sync.test_lock),
    ("omp_init_nest_lock", "i", "", sync.init_nest_lock),
    ("omp_destroy_nest_lock", "i", "", sync.destroy_lock),
    ("omp_set_nest_lock", "i", "", sync.set_lock),
    ("omp_unset_nest_lock", "i", "", sync.unset_lock),
    ("omp_test_nest_lock", "i", "i", sync.test_lock),
    ("__faabric_omp_lock_misuse", "iii", "", sync.lock_misuse),
    ("__faabric_omp_sbrk", "i", "i", omp_sbrk),
    ("__faabric_omp_yield", "", "", omp_yield),
    ("__faabric_omp_output", "iii", "i", omp_output),
    ("__faabric_omp_stdio_lock", "", "", stdio_lock),
    ("__faabric_omp_stdio_unlock", "", "", stdio_unlock),
]


def register(host_functions) -> None:
    for name, params, results, fn in _FUNCTIONS:
        host_functions.define(name, params, results, fn)

