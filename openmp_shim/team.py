"""Teams of OpenMP threads: barriers, worksharing bookkeeping, and the threads' own state.

A :class:`Team` is created for each parallel region. A member that must
wait blocks on its own wake-up queue (a C-implemented ``SimpleQueue``: a
third of the cost of a ``Condition`` hand-off) and never spins. A member
that fails aborts the team: everyone waiting wakes up with
:class:`TeamAborted`, so a failure in one thread never leaves the others
hanging.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import weakref
from typing import TYPE_CHECKING, Callable, Iterator

from faabric.exceptions import FaabricError, OpenMPError
from openmp_shim.abi import DispatchLoop

if TYPE_CHECKING:
    from openmp_shim.program import OpenMPProgram

WAIT_SLICE = 0.25  # seconds between checks for an aborted team while waiting
SCRATCH_KEY = "openmp"  # ActiveCall.scratch: the calling thread's ThreadState


class TeamAborted(OpenMPError):
    """Another thread of the team failed; this one stops too (the first error is reported)."""


class Team:
    """The threads of one parallel region.

    ``lock`` guards the team's shared bookkeeping; whoever changes something
    others may wait for calls :meth:`notify_all` while holding it.
    """

    def __init__(self, size: int, parent: "ThreadState") -> None:
        self.size = size
        self.parent = parent
        self.level = parent.level + 1
        self.active_level = parent.active_level + (1 if size > 1 else 0)
        self.lock = threading.Lock()
        self._sleepers: list[queue.SimpleQueue] = []
        self.error: BaseException | None = None
        self._arrived = 0
        self._generation = 0
        self._finished = 0
        self.singles_claimed = 0
        self.loops: dict[int, DispatchLoop] = {}
        self.loop_users: dict[int, int] = {}
        self.copyprivate: dict[int, int] = {}
        self.reductions: dict[int, dict[int, tuple]] = {}

    # -- waiting -------------------------------------------------------
    def notify_all(self) -> None:
        """Wake every waiting member to re-check what it waits for (hold ``lock``)."""
        for sleeper in self._sleepers:
            sleeper.put(None)
        self._sleepers.clear()

    def wait_for(self, predicate: Callable[[], bool], thread: "ThreadState", abortable: bool = True) -> None:
        """Block until ``predicate()`` (checked under ``lock``) holds.

        Raises:
            TeamAborted: another member failed (unless ``abortable`` is False).
        """
        with self.lock:
            if predicate():
                return
        with thread.blocking():
            while True:
                with self.lock:
                    if predicate():
                        return
                    if abortable and self.error is not None:
                        raise self.aborted(thread)
                    self._sleepers.append(thread.wakeup)
                try:
                    thread.wakeup.get(timeout=WAIT_SLICE)
                except queue.Empty:
                    pass

    def aborted(self, thread: "ThreadState") -> Exception:
        """What a member stops with once the team failed: :class:`TeamAborted`, except that thread 0 (the
        forking thread, whose error the call reports) stops with a copy of the first failure."""
        if thread.tid == 0 and isinstance(self.error, FaabricError):
            return FaabricError.from_wire(self.error.to_wire())  # (the original stays with the team)
        return TeamAborted("another thread of the team failed")

    def fail(self, error: BaseException) -> None:
        """Record the first failure and wake every waiting member."""
        with self.lock:
            if self.error is None:
                self.error = error
            self.notify_all()

    # -- synchronisation -----------------------------------------------
    def barrier(self, thread: "ThreadState") -> None:
        if self.size == 1:
            return
        with self.lock:
            generation = self._generation
            self._arrived += 1
            if self._arrived == self.size:
                self._arrived = 0
                self._generation += 1
                self.notify_all()
                return
        self.wait_for(lambda: self._generation != generation, thread)

    def member_finished(self) -> None:
        with self.lock:
            self._finished += 1
            self.notify_all()

    def join(self, thread: "ThreadState", workers: int) -> None:
        """Wait until ``workers`` members have finished (a failed team is waited for too)."""
        self.wait_for(lambda: self._finished >= workers, thread, abortable=False)

    # -- worksharing ----------------------------------------------------
    def claim_single(self, ordinal: int) -> bool:
        """Whether the caller is the first to reach its ``ordinal``-th single construct."""
        with self.lock:
            if self.singles_claimed < ordinal:
                self.singles_claimed = ordinal
                return True
            return False

    def start_loop(self, ordinal: int, make: Callable[[], DispatchLoop]) -> DispatchLoop:
        with self.lock:
            loop = self.loops.get(ordinal)
            if loop is None:
                loop = self.loops[ordinal] = make()
                self.loop_users[ordinal] = 0
            self.loop_users[ordinal] += 1
            return loop

    def finish_loop(self, ordinal: int) -> None:
        with self.lock:
            self.loop_users[ordinal] -= 1
            if self.loop_users[ordinal] == 0 and len(self.loops[ordinal].finished) >= self.size:
                del self.loops[ordinal], self.loop_users[ordinal]


class ThreadState:
    """One thread's view: its team, number, ICVs and worksharing counters.

    The initial thread of a call has ``team=None``; each parallel region a
    thread runs gives it a new state whose ``parent`` is the encountering one.
    """

    def __init__(
        self,
        program: "OpenMPProgram",
        team: Team | None,
        tid: int,
        gtid: int,
        parent: "ThreadState | None",
        granule,
        blocking: Callable[[], contextlib.AbstractContextManager] | None = None,
    ) -> None:
        self._program = weakref.ref(program)  # the root call's scratch holds the program
        self._granule = weakref.ref(granule)  # weak: no cycle keeps a finished call's granule alive
        self.team = team
        self.tid = tid
        self.gtid = gtid
        self.parent = parent
        self.blocking_factory = blocking
        self.wakeup: queue.SimpleQueue = queue.SimpleQueue()
        self.level = team.level if team else 0
        self.active_level = team.active_level if team else 0
        self.nthreads = parent.nthreads if parent else program.default_threads
        self.pushed = 0  # from num_threads(): used by the next fork only
        self.singles = 0
        self.loops_started = 0
        self.copyprivates = 0
        self.reduction_count = 0
        self.loop: DispatchLoop | None = None
        self.loop_team: Team | None = None
        self.stack_top = 0  # workers: where this thread's stack starts
        self.loop_ordinal = 0
        self.current_iteration = 0
        self.did_ordered = False

    @property
    def program(self) -> "OpenMPProgram":
        return self._program()

    @property
    def granule(self):
        """The instance this thread runs in."""
        return self._granule()

    @property
    def team_size(self) -> int:
        return self.team.size if self.team else 1

    def blocking(self) -> contextlib.AbstractContextManager:
        """Give up the worker's CPU permit while waiting (only the call's own pool thread has one)."""
        return self.blocking_factory() if self.blocking_factory else contextlib.nullcontext()

    def check_abort(self) -> None:
        if self.team is not None and self.team.error is not None:
            raise self.team.aborted(self)

    def ancestors(self) -> Iterator["ThreadState"]:
        state: ThreadState | None = self
        while state is not None:
            yield state
            state = state.parent
