"""Forks the guest starts by itself: the host's view of a team it never sees start.

After a top-level fork of N threads has run in the guest (shared mode,
``OpenMPProgram._fork_parked``), its workers stay parked there. The host then
*arms* :class:`GuestForks`: it tells the guest, in its region record, the team
size that is ready, the initial thread's ``nthreads-var`` and the thread
limit. The guest's ``__kmpc_fork_call`` starts and joins every later region
of that size itself (``fork_here`` in ``guest/omp_runtime.c``): no host call,
about a microsecond instead of tens.

Every access to the region record goes through the calling instance's own
view of the shared memory: a worker may still run after the call's own
instance (whose mapping of it ends with its store) failed and was dropped.

The host's per-region bookkeeping (a :class:`~openmp_shim.team.Team` and each
member's :class:`~openmp_shim.team.ThreadState`: single, copyprivate,
reduction and dispatch-loop counters, the team a waiting member may be
aborted through) is renewed lazily: the first host call a member makes in a
new region (the guest's region generation moved on) gives every member a
fresh state of a fresh team. Regions that never call the host cost nothing.

Anything that could change a fork's shape goes back to the host: another
team size, a nested region, snapshot mode, a worker that stopped
(``disarm``).
"""

from __future__ import annotations

import struct
import weakref
from typing import TYPE_CHECKING

from openmp_shim.team import SCRATCH_KEY, Team, ThreadState
from openmp_shim.workers import (
    REGION_ACTIVE,
    REGION_FAILED,
    REGION_FAST,
    REGION_OUTPUT,
    Worker,
    stopped_worker_error,
)

if TYPE_CHECKING:
    from granules.context import ActiveCall
    from openmp_shim.program import OpenMPProgram

GUEST_FORKS_KEY = "openmp.guest_forks"  # ActiveCall.scratch of the team's calls, while armed
_FAST = struct.Struct("<iii")  # the region record's fast_size, default_threads, thread_limit
_I32 = struct.Struct("<i")


class GuestForks:
    """One armed team: regions of its size start in the guest; member states are renewed on demand."""

    def __init__(self, program: "OpenMPProgram", root_call: "ActiveCall", team: Team, workers: list[Worker]) -> None:
        self._program = weakref.ref(program)
        self._region = program.region
        self._root_call = weakref.ref(root_call)  # (its scratch holds the program, which holds this)
        self._initial = team.parent
        self._workers = workers
        self._lock = program.lock
        self.team = team
        self.size = team.size
        self.generation = _I32.unpack_from(root_call.memory.view, self._region)[0]  # the region ``team`` is for

    def arm(self, view: memoryview) -> None:
        """Let the guest fork teams of this size, and route the members' host calls through :meth:`current`."""
        for call in self._calls():
            call.scratch[GUEST_FORKS_KEY] = self
        _FAST.pack_into(view, self._region + REGION_FAST, self.size, self._initial.nthreads,
                        self._program().thread_limit)

    def publish_threads(self, view: memoryview) -> None:
        """Tell the guest the initial thread's ``nthreads-var`` changed (``omp_set_num_threads``)."""
        _I32.pack_into(view, self._region + REGION_FAST + 4, self._initial.nthreads)

    def disarm(self, view: memoryview) -> None:
        """From now on every fork asks the host (which may arm another team)."""
        _I32.pack_into(view, self._region + REGION_FAST, 0)
        for call in self._calls():
            call.scratch.pop(GUEST_FORKS_KEY, None)

    def current(self, call: "ActiveCall") -> ThreadState:
        """The calling member's state in the region running now (the initial state between regions)."""
        view, region = call.memory.view, self._region
        if not _I32.unpack_from(view, region + REGION_ACTIVE)[0]:
            state = call.scratch[SCRATCH_KEY]
            if call is self._root_call() and state.team is self.team:  # its part of the last region is over
                state = call.scratch[SCRATCH_KEY] = self._initial
            return state
        generation = _I32.unpack_from(view, region)[0]
        if generation != self.generation:
            with self._lock:
                if generation != self.generation:
                    self._renew(generation)
        return call.scratch[SCRATCH_KEY]

    def worker_failed(self, view: memoryview) -> None:
        """A parked worker stopped: no more forks in the guest, and its join asks the host (hold the lock)."""
        _I32.pack_into(view, self._region + REGION_FAST, 0)
        _I32.pack_into(view, self._region + REGION_FAILED, 1)

    def failed(self, view: memoryview) -> bool:
        return bool(_I32.unpack_from(view, self._region + REGION_FAILED)[0])

    def output_taken(self, view: memoryview) -> None:
        """The host prints what the workers wrote so far (the guest sets the flag when they write)."""
        _I32.pack_into(view, self._region + REGION_OUTPUT, 0)

    def _renew(self, generation: int) -> None:
        """Fresh states of a fresh team for region ``generation`` (hold the program's lock)."""
        program, initial = self._program(), self._initial
        team = Team(self.size, initial)
        root = ThreadState(program, team, 0, initial.gtid, initial, program.root, initial.blocking_factory)
        root_call = self._root_call()
        if root_call is not None:
            root_call.scratch[SCRATCH_KEY] = root
        stopped = stopped_worker_error(self._workers)
        if stopped is not None:
            team.fail(stopped)
        for tid, worker in enumerate(self._workers, 1):
            state = ThreadState(program, team, tid, worker.gtid, initial, worker.granule)
            state.stack_top = worker.stack_top
            worker.call.scratch[SCRATCH_KEY] = state
        program.parked_team = self.team = team
        self.generation = generation

    def _calls(self) -> list["ActiveCall"]:
        root_call = self._root_call()
        return [*([root_call] if root_call is not None else []), *(worker.call for worker in self._workers)]
