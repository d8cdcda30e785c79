"""One OpenMP thread of a call on another host, run from the snapshot its thread call carries.

The runtime hands a thread call (:func:`~openmp_shim.thread_wire.is_thread_call`)
to :func:`run_thread_call`. Its instance starts from the parent's memory and
globals at the fork and runs the microtask as member ``group_index`` of a
team it cannot reach: it works alone (static worksharing, reductions handed
to the forking thread, critical sections and merge regions of its own), and
any construct that must wait for other members fails loudly
(:class:`AwayTeam`). Its output is a :class:`~openmp_shim.thread_wire.ThreadResult`:
the diffs of its memory against the snapshot, its reduction deposits and
the merge regions it knows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from faabric.exceptions import OpenMPError
from granules.context import ACTIVE_CALL, ActiveCall
from granules.granule import Granule
from openmp_shim.abi import DispatchLoop
from openmp_shim.program import FLUSH_EXPORT, PROGRAM_KEY, SCRATCH_KEY, OpenMPProgram
from openmp_shim.team import Team, ThreadState
from openmp_shim.thread_wire import ThreadResult, ThreadSpec, globals_from_wire
from openmp_shim.workers import ForkSnapshot, call_microtask

if TYPE_CHECKING:
    import wasmtime

    from faabric.messages import Message
    from granules.granule import ProtoFunction


class AwayTeam(Team):
    """A team as its member on another host sees it: the member may work alone, never wait for the others."""

    def __init__(self, size: int, parent: ThreadState, where: str) -> None:
        super().__init__(size, parent)
        self.where = where

    def _across_hosts(self, construct: str) -> OpenMPError:
        return OpenMPError(f"{construct} needs the whole team, but {self.where}: not supported across hosts")

    def barrier(self, thread: ThreadState) -> None:
        raise self._across_hosts("a barrier (explicit, or implied by a construct without nowait)")

    def wait_for(self, predicate: Callable[[], bool], thread: ThreadState, abortable: bool = True) -> None:
        raise self._across_hosts("waiting for other threads")

    def claim_single(self, ordinal: int) -> bool:
        raise self._across_hosts("single")

    def start_loop(self, ordinal: int, make: Callable[[], DispatchLoop]) -> DispatchLoop:
        """A statically scheduled loop: this member's chunks depend on its thread number only."""
        loop = make()
        if loop.ordered:
            raise self._across_hosts("an ordered loop")
        if loop.kind not in ("static", "static_chunked"):
            raise self._across_hosts(f"a {loop.kind} loop schedule")
        return loop

    def finish_loop(self, ordinal: int) -> None:
        """(Each member's static loop is its own.)"""


class AwayProgram(OpenMPProgram):
    """The OpenMP state of a thread call: snapshot semantics and the forking thread's ICVs."""

    def __init__(self, call: ActiveCall, spec: ThreadSpec, where: str) -> None:
        super().__init__(call)
        self.mode = "snapshot"
        self.local_threads = 0
        self.run_sched = tuple(spec.run_sched)
        self.dynamic = spec.dynamic
        self.initial.nthreads = spec.nthreads
        self.merge_regions = {region.offset: region for region in spec.regions}
        self.where = where

    def threadprivate(self, state: ThreadState, memory, data: int, size: int) -> int:
        raise OpenMPError(f"threadprivate variables live with their team, but {self.where}: not supported across hosts")


def run_thread_call(proto: "ProtoFunction", wasi: "wasmtime.WasiConfig", message: "Message", context) -> int:
    """Run thread call ``message`` in a new instance of ``proto``; its output is a packed ThreadResult."""
    spec = ThreadSpec.unpack(message.input)
    tid = message.group_index
    stack_top = spec.stacks.get(tid)
    if stack_top is None or not 0 < tid < spec.team_size:
        raise OpenMPError(f"thread call for thread {tid} of a team of {spec.team_size} has no stack")
    snapshot = ForkSnapshot(proto.name.replace("/", "-"), memoryview(spec.image.contents()),
                            globals_from_wire(spec.globals))
    try:
        granule = Granule(proto, proto.limits, wasi, snapshot)
        call = ActiveCall(granule, message, context)
        where = f"thread {tid} runs on host {context.host.id}, away from its team"
        program = call.scratch[PROGRAM_KEY] = AwayProgram(call, spec, where)
        if program.sp_index is None:
            raise OpenMPError("the module exports no stack pointer global")
        team = AwayTeam(spec.team_size, program.initial, where)
        state = call.scratch[SCRATCH_KEY] = ThreadState(program, team, tid, tid, program.initial, granule)
        state.stack_top = stack_top
        token = ACTIVE_CALL.set(call)
        try:
            call_microtask(granule, program.sp_index, stack_top, message.func_ptr, tid, tid, spec.args)
            program.call_export(granule, FLUSH_EXPORT, [])
        finally:
            ACTIVE_CALL.reset(token)
        deposits = [(ordinal, *by_thread[tid]) for ordinal, by_thread in sorted(team.reductions.items())]
        result = ThreadResult(program.diff(granule, snapshot.contents()), deposits,
                              sorted(program.merge_regions.values()))
        message.output = result.pack()
        return 0
    finally:
        snapshot.close()
