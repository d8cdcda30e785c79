"""An MPI world: its ranks' mailboxes, its communicators, and how ranks wait.

All ranks of a world on one host share one :class:`World`. One lock guards
it; each rank has a *doorbell* (a raw lock, the cheapest thing CPython can
block on) to sleep on. A rank that must wait (a receive, a collective, a
synchronous send) sleeps on its doorbell, with its CPU permit given up
(``blocking``), until another rank's progress rings it, the world fails, or
the wait is hopeless:

* **failure**: when any rank fails (an MPI error, ``MPI_Abort``, a trap), the
  world is aborted; every waiting rank wakes and raises
  :class:`~faabric.exceptions.MpiWorldFailedError` naming the failed rank.
* **deadlock**: when every rank of the world is either waiting or gone, and
  nothing has happened for a while, nobody can ever wake them: the waiting
  ranks raise :class:`~faabric.exceptions.MpiDeadlockError` listing what
  each rank waits for.
* **timeout**: no wait lasts longer than the MPI timeout.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from typing import Callable, ContextManager

from faabric.exceptions import FaabricError, MpiDeadlockError, MpiError, MpiWorldFailedError
from faabric.mpi.communicators import Communicator

DEADLOCK_CHECK_SECONDS = 0.1


class World:
    """The shared state of one MPI world on one host."""

    def __init__(self, world_id: int, size: int, timeout: float) -> None:
        self.id = world_id
        self.size = size
        self.timeout = timeout
        self.lock = threading.Lock()
        self.doorbells = [threading.Lock() for _ in range(size)]  # locked: nobody has rung since the rank looked
        self.mailboxes = [Mailbox() for _ in range(size)]
        self._contexts = itertools.count(1)
        self.comm_world = Communicator(0, tuple(range(size)))
        self.progress = 0  # bumped by everything that could wake a waiting rank
        self.waiting: list = [None] * size  # what each rank waits in: a string, or a callable making one
        self.blocked = 0
        self.joined: set[int] = set()
        self.departed: set[int] = set()
        self.failure: tuple[int, FaabricError] | None = None

    # Membership -------------------------------------------------------------

    def join(self, rank: int) -> None:
        with self.lock:
            self.joined.add(rank)

    def depart(self, rank: int) -> None:
        """Rank ``rank`` finalized or finished: it will never send or receive again."""
        with self.lock:
            if rank in self.departed:
                return
            self.departed.add(rank)
            self.mailboxes[rank].posted.clear()  # its buffers may belong to the next call
            self._wake_all()

    @property
    def finished(self) -> bool:
        return len(self.departed) == self.size

    def new_context(self) -> int:
        """A fresh communicator context id (call with the lock held)."""
        return next(self._contexts)

    # Failure ----------------------------------------------------------------

    def abort(self, rank: int, error: FaabricError) -> None:
        """Fail the world because of ``rank``'s ``error``; wake every waiting rank."""
        with self.lock:
            self._abort_locked(rank, error)

    def _abort_locked(self, rank: int, error: FaabricError) -> None:
        if self.failure is None:
            self.failure = (rank, error)
            self._wake_all()

    def failure_for(self, rank: int) -> MpiError:
        """The error a rank raises once the world has failed."""
        failed_rank, error = self.failure
        if isinstance(error, MpiDeadlockError):
            return MpiDeadlockError(error.error_class, error.error_name, error.detail, "", rank, self.id)
        return MpiWorldFailedError(failed_rank, str(error), "", rank, self.id)

    def _wake_all(self) -> None:
        self.progress += 1
        for doorbell in self.doorbells:
            if doorbell.locked():
                doorbell.release()

    def wake(self, ranks) -> None:
        """Wake ``ranks`` (world ranks) after progress they may wait for (lock held)."""
        self.progress += 1
        waiting = self.waiting
        for rank in ranks:
            if waiting[rank] is not None:  # only a rank inside _wait_locked sleeps on its doorbell
                doorbell = self.doorbells[rank]
                if doorbell.locked():
                    doorbell.release()

    # Waiting ----------------------------------------------------------------

    def wait_until(
        self, rank: int, ready: Callable[[], bool], what, blocking: Callable[[], ContextManager] | None = None
    ) -> None:
        """Return once ``ready()`` holds (checked under the lock).

        Raises:
            MpiWorldFailedError: another rank failed meanwhile.
            MpiDeadlockError: every rank waits or is gone with no progress, or
                the MPI timeout passed.
        """
        with self.lock:
            if self.failure is not None:
                raise self.failure_for(rank)
            if ready():
                return
        with (blocking or contextlib.nullcontext)():
            with self.lock:
                self._wait_locked(rank, ready, what)

    def _wait_locked(self, rank: int, ready: Callable[[], bool], what) -> None:
        deadline = time.monotonic() + self.timeout
        doorbell = self.doorbells[rank]
        self.blocked += 1
        self.waiting[rank] = what
        stuck_at: int | None = None
        try:
            while True:
                if self.failure is not None:
                    raise self.failure_for(rank)
                if ready():
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    error = self._deadlock(rank, f"no progress within the MPI timeout of {self.timeout:g}s")
                    self._abort_locked(rank, error)
                    raise error
                doorbell.acquire(False)  # earlier rings are stale: ready() was checked under the lock since
                self.lock.release()
                try:
                    doorbell.acquire(timeout=min(DEADLOCK_CHECK_SECONDS, remaining))
                finally:
                    self.lock.acquire()
                if self.failure is None and not ready() and self._all_stuck():
                    if stuck_at == self.progress:
                        error = self._deadlock(rank, "every rank is waiting or has finished")
                        self._abort_locked(rank, error)
                        raise error
                    stuck_at = self.progress
                else:
                    stuck_at = None
        finally:
            self.blocked -= 1
            self.waiting[rank] = None

    def _all_stuck(self) -> bool:
        live_waiting = sum(1 for r, w in enumerate(self.waiting) if w is not None and r not in self.departed)
        return live_waiting + len(self.departed) == self.size and len(self.joined | self.departed) == self.size

    def _deadlock(self, rank: int, why: str) -> MpiDeadlockError:
        states = []
        for other in range(self.size):
            if other in self.departed:
                states.append(f"rank {other} has finished")
            elif self.waiting[other] is not None:
                what = self.waiting[other]
                states.append(f"rank {other} waits in {what() if callable(what) else what}")
            elif other not in self.joined:
                states.append(f"rank {other} has not started")
            else:
                states.append(f"rank {other} is running")
        detail = f"deadlock ({why}): " + "; ".join(states)
        return MpiDeadlockError(15, "MPI_ERR_OTHER", detail, "", rank, self.id)


class Envelope:
    """A sent message not yet received: its match keys and its bytes."""

    __slots__ = ("context", "source", "tag", "data", "synchronous")

    def __init__(self, context: int, source: int, tag: int, data: bytes, synchronous: "SendRequest | None") -> None:
        self.context, self.source, self.tag, self.data, self.synchronous = context, source, tag, data, synchronous


class Request:
    """A pending operation; ``done`` turns true once, under the world lock."""

    __slots__ = ("done", "source", "tag", "nbytes", "error", "kind")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.done = False
        self.source = -1
        self.tag = -1
        self.nbytes = 0
        self.error: MpiError | None = None


class SendRequest(Request):
    __slots__ = ()

    def __init__(self) -> None:  # the hot path: no super() chain
        self.kind, self.done, self.source, self.tag, self.nbytes, self.error = "send", False, -1, -1, 0, None


class RecvRequest(Request):
    """A posted receive: ``deliver(data)`` writes matched bytes into the receiver's buffer."""

    __slots__ = ("context", "want_source", "want_tag", "capacity", "deliver", "owner")

    def __init__(self, owner: int, context: int, source: int, tag: int, capacity: int, deliver: Callable) -> None:
        self.kind, self.done, self.source, self.tag, self.nbytes, self.error = "recv", False, -1, -1, 0, None
        self.owner = owner
        self.context, self.want_source, self.want_tag = context, source, tag
        self.capacity = capacity
        self.deliver = deliver


class Mailbox:
    """One world rank's queue of unexpected messages and its posted receives."""

    __slots__ = ("unexpected", "posted")

    def __init__(self) -> None:
        self.unexpected: list[Envelope] = []
        self.posted: list[RecvRequest] = []
