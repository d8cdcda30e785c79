"""Mutual exclusion for OpenMP threads: critical sections, omp locks and reductions.

Waiting always blocks (never spins) and gives up the call's
CPU permit; a wait notices when another thread of its team failed.
"""

from __future__ import annotations

import threading

from faabric.exceptions import OpenMPError
from granules import raw
from openmp_shim.program import OpenMPProgram
from openmp_shim.team import WAIT_SLICE, ThreadState
from openmp_shim.workers import stack_pointer, table_function


def _acquire(lock: threading.Lock, state: ThreadState) -> None:
    if lock.acquire(blocking=False):
        return
    with state.blocking():
        while not lock.acquire(timeout=WAIT_SLICE):
            state.check_abort()


def enter_critical(state: ThreadState, key: int) -> None:
    program = state.program
    with program.lock:
        lock = program.criticals.get(key)
        if lock is None:
            lock = program.criticals[key] = threading.Lock()
    _acquire(lock, state)


def leave_critical(state: ThreadState, key: int) -> None:
    lock = state.program.criticals.get(key)
    if lock is None or not lock.locked():
        raise OpenMPError(f"leaving critical section {key:#x} that no thread entered")
    lock.release()


# -- omp_lock_t / omp_nest_lock_t -----------------------------------------------
_MISUSES = {
    0: "omp_unset{}_lock: the lock at {:#x} is not held by this thread",
    1: "omp_set{}_lock: this thread already holds the lock at {:#x} (deadlock)",
    2: "omp_destroy{}_lock: the lock at {:#x} is still held",
    3: "omp_set{}_lock: the lock at {:#x} is nested more than 255 deep",
}


def _lock_key(call, lock_ptr: int) -> int:
    return call.memory.check(lock_ptr, 4, "omp lock")


def _init(call, lock_ptr: int, nestable: bool) -> None:
    program = OpenMPProgram.of(call).program
    with program.locks_cond:
        program.locks[_lock_key(call, lock_ptr)] = [None, 0, nestable]


def init_lock(call, lock_ptr: int) -> None:
    _init(call, lock_ptr, False)


def init_nest_lock(call, lock_ptr: int) -> None:
    _init(call, lock_ptr, True)


def _get(program, key: int, what: str) -> list:
    lock = program.locks.get(key)
    if lock is None:
        raise OpenMPError(f"{what}: the lock at {key:#x} was never initialised")
    return lock


def destroy_lock(call, lock_ptr: int) -> None:
    program = OpenMPProgram.of(call).program
    key = _lock_key(call, lock_ptr)
    with program.locks_cond:
        lock = _get(program, key, "omp_destroy_lock")
        if lock[0] is not None:
            raise OpenMPError(_MISUSES[2].format("_nest" if lock[2] else "", key))
        del program.locks[key]


def set_lock(call, lock_ptr: int) -> None:
    state = OpenMPProgram.of(call)
    program = state.program
    key = _lock_key(call, lock_ptr)
    me = threading.get_ident()
    with program.locks_cond:
        lock = _get(program, key, "omp_set_lock")
        if lock[0] == me:
            if not lock[2]:
                raise OpenMPError(_MISUSES[1].format("", key))
            lock[1] += 1
            return
        if lock[0] is not None:
            with state.blocking():
                while lock[0] is not None:
                    state.check_abort()
                    program.locks_cond.wait(WAIT_SLICE)
                    lock = _get(program, key, "omp_set_lock")
        lock[0], lock[1] = me, 1


def unset_lock(call, lock_ptr: int) -> None:
    program = OpenMPProgram.of(call).program
    key = _lock_key(call, lock_ptr)
    with program.locks_cond:
        lock = _get(program, key, "omp_unset_lock")
        if lock[0] != threading.get_ident():
            raise OpenMPError(_MISUSES[0].format("_nest" if lock[2] else "", key))
        lock[1] -= 1
        if lock[1] == 0:
            lock[0] = None
            program.locks_cond.notify_all()


def test_lock(call, lock_ptr: int) -> int:
    """1 (a simple lock) or the new nesting depth (a nest lock) if taken, else 0."""
    program = OpenMPProgram.of(call).program
    key = _lock_key(call, lock_ptr)
    me = threading.get_ident()
    with program.locks_cond:
        lock = _get(program, key, "omp_test_lock")
        if lock[0] is None:
            lock[0], lock[1] = me, 1
        elif lock[0] == me and lock[2]:
            lock[1] += 1
        else:
            return 0
        return lock[1] if lock[2] else 1




def lock_misuse(call, misuse: int, nestable: int, lock_ptr: int) -> None:
    """The guest's own locks report misuse here, as the host's do."""
    template = _MISUSES.get(misuse)
    if template is None:
        raise OpenMPError(f"unknown misuse {misuse} of the OpenMP lock at {lock_ptr:#x}")
    raise OpenMPError(template.format("_nest" if nestable else "", lock_ptr))


# -- reductions ------------------------------------------------------------------
def start_reduction(state: ThreadState, call, data_ptr: int, reduce_func: int, lock_ptr: int, blocking: bool) -> int:
    """``__kmpc_reduce[_nowait]``: 1 if the caller combines its values into the shared ones now, 0 if not.

    Shared memory: every thread combines under the reduction lock. Snapshot
    mode: the other threads hand the master a copy of their live stack (where
    the private copies and the list of pointers to them are); the master
    places it at the same addresses in its memory and folds each in with the
    compiler's ``reduce_func``, then alone writes the shared variables.
    """
    team = state.team
    if state.program.mode == "shared" or team is None or team.size == 1:
        enter_critical(state, lock_ptr)
        return 1
    state.reduction_count += 1
    ordinal = state.reduction_count
    granule = state.granule
    if state.tid != 0:
        sp = stack_pointer(granule, state.program.sp_index)
        stack = granule.memory.read(sp, state.stack_top - sp, "thread stack")
        with team.lock:
            team.reductions.setdefault(ordinal, {})[state.tid] = (sp, stack, data_ptr)
            team.notify_all()
        if blocking:
            team.barrier(state)
        return 0
    team.wait_for(lambda: len(team.reductions.get(ordinal, ())) == team.size - 1, state)
    with team.lock:
        deposits = team.reductions.pop(ordinal)
    func = table_function(granule, reduce_func)
    for tid in sorted(deposits):
        sp, stack, their_data = deposits[tid]
        granule.memory.write(sp, stack, "thread stack copy")
        raw.call(granule.ctx, func, [data_ptr, their_data], None)
    return 1


def end_reduction(state: ThreadState, lock_ptr: int, blocking: bool) -> None:
    team = state.team
    if state.program.mode == "shared" or team is None or team.size == 1:
        leave_critical(state, lock_ptr)
    if blocking and team is not None:
        team.barrier(state)
