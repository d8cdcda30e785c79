"""Members of an OpenMP team on other hosts: sent through the planner, merged back at the join.

Past ``SystemConfig.omp_local_threads`` a team's threads become chained calls
of the same function, submitted as one batch (Faasm schedules threads as a
batch of calls), so the planner's policy decides where they run. Each
carries the parent's memory and globals at the fork and its thread number
(:mod:`openmp_shim.thread_wire`); :mod:`openmp_shim.thread_call` runs it on
whichever host it lands. When a result comes back, the member's Worker
thread (it runs no instance for a remote member) takes it in: reduction
deposits reach the team at once, the diffs wait for the join.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from faabric.exceptions import FaabricError, OpenMPError
from faabric.snapshot import MemoryImage
from openmp_shim.thread_wire import ThreadResult, ThreadSpec, globals_to_wire, snapshot_key

if TYPE_CHECKING:
    from concurrent.futures import Future

    from granules.context import ActiveCall
    from openmp_shim.program import OpenMPProgram
    from openmp_shim.team import Team, ThreadState
    from openmp_shim.workers import ForkSnapshot, Worker


def send_members(
    program: "OpenMPProgram", call: "ActiveCall", team: "Team", parent: "ThreadState", tids: range,
    microtask: int, args: list[int], snapshot: "ForkSnapshot",
) -> None:
    """Submit thread calls for members ``tids`` of ``team``; each reports to the team when its result is in.

    Raises:
        FunctionNotFoundError: the function is gone from the function store (nothing was started).
    """
    spec = ThreadSpec(
        args, team.size, {tid: program.workers[tid - 1].stack_top for tid in tids}, parent.nthreads,
        program.run_sched, program.dynamic, MemoryImage.capture(snapshot.contents()),
        globals_to_wire(snapshot.globals), sorted(program.merge_regions.values()),
    )
    payload = spec.pack()  # one packing, shared by every member's call
    message = call.message
    key = snapshot_key(message.id, program.forks)
    context = call.context
    ids = context.chain_many([
        (message.function, payload, microtask,
         {"group_id": message.id, "group_index": tid, "snapshot_key": key, "env": dict(message.env)})
        for tid in tids
    ])
    for tid, message_id in zip(tids, ids):
        hand_over = functools.partial(_hand_over, program, team, program.workers[tid - 1], tid)
        context.result_future(message_id).add_done_callback(hand_over)


def _hand_over(program: "OpenMPProgram", team: "Team", worker: "Worker", tid: int, future: "Future") -> None:
    """(On the event loop) the member's Worker thread takes the result in."""
    worker.submit(functools.partial(_collect, program, team, worker, tid, future))


def _collect(program: "OpenMPProgram", team: "Team", worker: "Worker", tid: int, future: "Future") -> None:
    """Take in member ``tid``'s result (on its Worker's thread); a failed member fails the team."""
    try:
        failure = _take_in(program, team, worker, tid, future)
        if failure is not None:
            team.fail(failure)  # (never raised here: no traceback ties it to this frame)
    except BaseException as error:  # noqa: B036 - handed to the team, re-raised by the forking thread
        team.fail(error)
    finally:
        team.member_finished()


def _take_in(
    program: "OpenMPProgram", team: "Team", worker: "Worker", tid: int, future: "Future"
) -> OpenMPError | None:
    """Output, merge regions, reduction deposits and diffs of a finished member; its error if it failed."""
    lost = future.exception()
    if lost is not None:
        return OpenMPError(f"thread {tid} gave no result: {type(lost).__name__}: {lost}")
    result = future.result()
    for fd, data in ((1, result.stdout), (2, result.stderr)):
        if data:
            program.take_output(fd, data)
    if result.error is not None:
        error = FaabricError.from_wire(result.error)
        host = result.executed_host or "an unknown host"
        return OpenMPError(f"thread {tid} on host {host} failed: {type(error).__name__}: {error}")
    changes = ThreadResult.unpack(result.output)
    for region in changes.regions:
        program.register_merge_region(region)
    worker.diffs = changes.diffs
    with team.lock:
        for ordinal, sp, stack, data in changes.deposits:
            team.reductions.setdefault(ordinal, {})[tid] = (sp, stack, data)
        team.notify_all()
    return None
