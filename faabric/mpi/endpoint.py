"""One rank's view of its world: point-to-point messaging and collectives.

Point-to-point follows MPI's matching rules: a message matches a receive on
the same communicator context whose source and tag are equal or wildcards;
messages between one pair of ranks never overtake each other; a receive that
is already posted when a message is sent gets it directly (``deliver`` copies
straight from the sender's buffer into the receiver's: one copy), otherwise the
bytes wait in the receiver's mailbox.

Collectives meet in a *slot* of the world, keyed by the communicator's context
and how many collectives each rank has called on it. Each rank deposits its
contribution, waits only for what it needs (the root's data, or everyone's),
and takes its result; results computed from everyone's contributions are
computed once. Ranks that call different collectives, or disagree on the
root or the op, get a clear "mismatched collective" error.

A message to a rank on another host goes over the world's network; so do
collectives spanning hosts, one bundle per host each way (see
:meth:`World.collective_progress`).
"""

from __future__ import annotations

import time
from typing import Callable, ContextManager, Sequence

import numpy as np

from faabric.mpi import ops
from faabric.mpi.communicators import UNDEFINED, Communicator, split_groups
from faabric.mpi.errors import ErrorClass, fail
from faabric.mpi.mailbox import (
    ANY_SOURCE, ANY_TAG, Envelope, RecvRequest, Request, SendRequest, complete_receive, truncated,
)
from faabric.mpi.slots import MISSING, Slot
from faabric.mpi.world import World

PROC_NULL = -1
_READER_POLL_SECONDS = 0.0002  # a failing rank waits this long between looks for readers of its buffer


class Pending:
    """A started collective: ``ready()`` (checked under the world lock) says this rank's results are here;
    ``finish()`` then takes them and leaves the collective."""

    __slots__ = ("ready", "finish", "what")

    def __init__(self, ready: Callable[[], bool], finish: Callable, what: str) -> None:
        self.ready, self.finish, self.what = ready, finish, what

    @classmethod
    def done(cls, result, what: str) -> "Pending":
        """A collective already complete, with ``result``."""
        return cls(_always, lambda: result, what)

    def then(self, transform: Callable) -> "Pending":
        """The same collective, its result passed through ``transform``."""
        finish = self.finish
        return Pending(self.ready, lambda: transform(finish()), self.what)


def _always() -> bool:
    return True


class Endpoint:
    """What rank ``rank`` of ``world`` does; ``blocking`` gives up its CPU while it waits."""

    def __init__(self, world: World, rank: int, blocking: Callable[[], ContextManager] | None = None) -> None:
        self.world = world
        self.rank = rank
        self.blocking = blocking
        self._sequence: dict[int, int] = {}

    def wait_for(self, ready: Callable[[], bool], what: str) -> None:
        self.world.wait_until(self.rank, ready, what, self.blocking)

    # Point to point ------------------------------------------------------------

    def send(self, comm: Communicator, dest: int, tag: int, data, synchronous: bool = False) -> SendRequest:
        """Send ``data`` (copied before this returns) to ``dest`` of ``comm``.

        Standard sends complete at once (the bytes are buffered if no receive
        is posted); a synchronous send completes when its receive matches.
        """
        request = SendRequest(self.rank)
        request.done = not synchronous
        if dest == PROC_NULL:
            request.done = True
            return request
        world = self.world
        source = comm.rank_of[self.rank]
        dest_world = comm.group[dest]
        if not synchronous and not world.local[dest_world]:  # the lean path: no lock (the map is fixed)
            if world.failure is not None:
                raise world.failure_for(self.rank)
            world.network.send_message(
                world.inbox_addresses[dest_world], world.id, dest_world, comm.context, source, tag, 0, data
            )
            return request
        with world.lock:
            if world.failure is not None:
                raise world.failure_for(self.rank)
            if world.local[dest_world]:
                world.send_here(dest_world, comm.context, source, tag, data, request if synchronous else None, self.rank)
                return request
            sync_id = world.register_sync(request) if synchronous else 0
        world.network.send_message(
            world.inbox_addresses[dest_world], world.id, dest_world, comm.context, source, tag, sync_id, data
        )
        return request

    def post_recv(
        self, comm: Communicator, source: int, tag: int, capacity: int, deliver: Callable[[bytes], None]
    ) -> RecvRequest:
        """Post a receive of at most ``capacity`` bytes; ``deliver`` writes the bytes into place."""
        sender = comm.group[source] if source >= 0 else -1
        request = RecvRequest(self.rank, comm.context, source, tag, capacity, deliver, sender)
        if source == PROC_NULL:
            request.done, request.source, request.tag = True, PROC_NULL, ANY_TAG
            return request
        world = self.world
        with world.lock:
            if world.failure is not None:
                raise world.failure_for(self.rank)
            if world.rings is not None:
                world.take_rings(self.rank)
            box = world.mailboxes[self.rank]
            index = _find(box.unexpected, comm.context, source, tag)
            if index is None:
                box.posted.append(request)
                if world.rings is not None:  # the guest's fast path must not take what this receive may
                    world.rings.mark_busy(self.rank, None if request.want_sender < 0 else request.want_sender)
                return request
            envelope = box.unexpected.pop(index)
            complete_receive(request, envelope.source, envelope.tag, envelope.data)
            if envelope.synchronous is not None:
                world.matched(envelope.synchronous)
        return request

    def recv(
        self, comm: Communicator, source: int, tag: int, capacity: int, deliver: Callable[[bytes], None], what
    ) -> tuple[int, int, int]:
        """A blocking receive (``MPI_Recv``): ``(source, tag, bytes)`` of the message ``deliver`` wrote.

        From a rank on another host it waits on this rank's inbox directly
        (:meth:`World.receive_direct`) when nothing already waits here.

        Raises:
            MpiError: MPI_ERR_TRUNCATE if the message did not fit, or a world failure.
        """
        if source >= 0 and not self.world.local[comm.group[source]]:
            got = self.world.receive_direct(self.rank, comm.context, source, tag, what, self.blocking)
            if got is not None:
                got_tag, data = got
                nbytes = len(data)
                if nbytes > capacity:
                    raise truncated(source, got_tag, nbytes, capacity)
                deliver(data)
                return source, got_tag, nbytes
        request = self.post_recv(comm, source, tag, capacity, deliver)
        self.wait(request, what)
        return request.source, request.tag, request.nbytes

    def wait(self, request: Request, what: str) -> Request:
        """Block until ``request`` completes.

        Raises:
            MpiError: MPI_ERR_TRUNCATE if the message did not fit, or a world failure.
        """
        if not request.done:
            self.wait_for(lambda: request.done, what)
        if request.error is not None:
            raise request.error
        return request

    def probe(self, comm: Communicator, source: int, tag: int, block: bool) -> tuple[int, int, int] | None:
        """``(source, tag, bytes)`` of the first matching unreceived message, or None."""
        if source == PROC_NULL:
            return PROC_NULL, ANY_TAG, 0
        box = self.world.mailboxes[self.rank]
        found: list[Envelope] = []

        def ready() -> bool:
            if self.world.rings is not None:
                self.world.take_rings(self.rank)
            index = _find(box.unexpected, comm.context, source, tag)
            if index is not None:
                found.append(box.unexpected[index])
            return index is not None

        if block:
            self.wait_for(ready, f"MPI_Probe(source={source}, tag={tag})")
        else:
            self.world.progress(self.rank)
            with self.world.lock:
                if self.world.failure is not None:
                    raise self.world.failure_for(self.rank)
                ready()
        if not found:
            return None
        envelope = found[-1]
        return envelope.source, envelope.tag, len(envelope.data)

    # Collectives ---------------------------------------------------------------

    def _enter(
        self, comm: Communicator, name: str, signature: tuple, contribution, compute: Callable | None = None,
        share: str = "all", root: int = -1,
    ) -> tuple[Slot, int]:
        """Deposit this rank's contribution; the last rank to arrive runs ``compute(contributions)``
        (under the lock, so waiting ranks find the result when they wake).

        ``share`` says what ranks take from each other (see :class:`Slot`).
        """
        sequence = self._sequence.get(comm.context, 0)
        self._sequence[comm.context] = sequence + 1
        me = comm.rank_of[self.rank]
        world = self.world
        with world.lock:
            if world.failure is not None:
                raise world.failure_for(self.rank)
            slot = world.slot((comm.context, sequence), comm.group, name, signature, me, share, root)
            slot.contributions[me] = contribution
            slot.arrived += 1
            slot.local_arrived += 1
            if compute is not None and slot.arrived == len(slot.contributions):
                slot.claimed = True
                slot.result = compute(slot.contributions)
            if slot.spans:
                world.collective_progress(slot)
            world.wake(comm.group)
        return slot, me

    def _leave(self, comm: Communicator, slot: Slot) -> None:
        self.world.leave(slot)

    def complete(self, pending: "Pending"):
        """Wait until a started collective's results are here; take them."""
        if pending.ready is not _always:
            self.wait_for(pending.ready, pending.what)
        return pending.finish()

    def _shared(self, comm: Communicator, slot: Slot, compute: Callable, name: str):
        """``compute(contributions)`` run once, by the first rank to ask; the others wait for it."""
        with self.world.lock:
            claim = not slot.claimed
            slot.claimed = True
        if claim:
            result = compute(slot.contributions)
            with self.world.lock:
                slot.result = result
                if slot.spans:
                    self.world.collective_progress(slot)
                self.world.wake(comm.group)
        elif slot.result is MISSING:
            self.wait_for(lambda: slot.result is not MISSING, f"{name} (waiting for the result)")
        return slot.result

    def _everyone(self, comm: Communicator, slot: Slot, name: str, take: Callable) -> "Pending":
        """Done once every rank has arrived; ``take()`` then gives the result, and the rank leaves."""
        def finish():
            try:
                return take()
            finally:
                self._leave(comm, slot)

        return Pending(lambda: slot.arrived == len(slot.contributions), finish, f"{name} (waiting for every rank)")

    def _start_combine(self, comm: Communicator, name: str, signature: tuple, contribution, compute: Callable):
        """Every rank contributes; ``compute(contributions)`` runs once; every rank gets its result."""
        slot, _ = self._enter(comm, name, signature, contribution, compute, "result")
        return self._everyone(comm, slot, name, lambda: self._shared(comm, slot, compute, name))

    def _combine(self, comm: Communicator, name: str, signature: tuple, contribution, compute: Callable):
        return self.complete(self._start_combine(comm, name, signature, contribution, compute))

    # Each collective starts (the rank deposits its part) and completes (it waits for what it needs):
    # the blocking calls do both at once, the nonblocking ones (MPI_Ibcast...) complete in MPI_Wait/Test.

    def start_barrier(self, comm: Communicator, name: str = "MPI_Barrier") -> "Pending":
        slot, _ = self._enter(comm, name, (), None, share="sync")
        return self._everyone(comm, slot, name, lambda: None)

    def barrier(self, comm: Communicator) -> None:
        self.complete(self.start_barrier(comm))

    def start_bcast(
        self, comm: Communicator, root: int, data: bytes | None, nbytes: int, name: str = "MPI_Bcast"
    ) -> "Pending":
        me = comm.rank_of[self.rank]
        slot, _ = self._enter(comm, name, (f"root={root}",), data if me == root else None, share="root", root=root)
        if me == root:
            self._leave(comm, slot)
            return Pending.done(data, name)

        def finish() -> bytes:
            received = slot.contributions[root]
            self._leave(comm, slot)
            _check_size(name, len(received), nbytes, root)
            return received

        return Pending(lambda: slot.contributions[root] is not MISSING, finish, f"{name} (waiting for rank {root})")

    def bcast(self, comm: Communicator, root: int, data: bytes | None, nbytes: int) -> bytes:
        return self.complete(self.start_bcast(comm, root, data, nbytes))

    def start_reduce(
        self, comm: Communicator, root: int, array: np.ndarray, combine, key, name: str = "MPI_Reduce"
    ) -> "Pending":
        me = comm.rank_of[self.rank]
        signature = (f"root={root}", f"op={key}", f"bytes={array.nbytes}")
        slot, _ = self._enter(comm, name, signature, array, share="to_root", root=root)
        if me != root:
            self._leave(comm, slot)
            return Pending.done(None, name)
        return self._everyone(comm, slot, name, lambda: ops.fold(slot.contributions, combine))

    def reduce(self, comm: Communicator, root: int, array: np.ndarray, combine, key) -> np.ndarray | None:
        return self.complete(self.start_reduce(comm, root, array, combine, key))

    def start_allreduce(self, comm: Communicator, array: np.ndarray, combine, key, name: str = "MPI_Allreduce"):
        def compute(contributions):
            return ops.fold(contributions, combine)

        return self._start_combine(comm, name, (f"op={key}", f"bytes={array.nbytes}"), array, compute)

    def allreduce(self, comm: Communicator, array: np.ndarray, combine, key, name: str = "MPI_Allreduce") -> np.ndarray:
        return self.complete(self.start_allreduce(comm, array, combine, key, name))

    def start_scan(self, comm: Communicator, array: np.ndarray, combine, key, exclusive: bool, name: str):
        """This rank's prefix of the reduction (None for rank 0 of an exclusive scan)."""
        me = comm.rank_of[self.rank]

        def compute(contributions):
            return ops.prefixes(contributions, combine)

        def mine(prefixes):
            if exclusive:
                return prefixes[me - 1] if me > 0 else None
            return prefixes[me]

        pending = self._start_combine(comm, name, (f"op={key}", f"bytes={array.nbytes}"), array, compute)
        return pending.then(mine)

    def scan(self, comm: Communicator, array: np.ndarray, combine, key, exclusive: bool) -> np.ndarray | None:
        return self.complete(self.start_scan(comm, array, combine, key, exclusive, "MPI_Exscan" if exclusive else "MPI_Scan"))

    def start_reduce_scatter(self, comm: Communicator, array: np.ndarray, counts: Sequence[int], combine, key, name: str):
        """This rank's block (``counts[rank]`` elements) of the reduction."""
        me = comm.rank_of[self.rank]
        total = sum(counts)
        if total != len(array):
            detail = f"receive counts add up to {total} but the send buffer has {len(array)} elements"
            raise fail(ErrorClass.ERR_COUNT, detail)
        start = sum(counts[:me])
        return self.start_allreduce(comm, array, combine, key, name).then(lambda reduced: reduced[start : start + counts[me]])

    def reduce_scatter(self, comm: Communicator, array: np.ndarray, counts: Sequence[int], combine, key, name: str):
        return self.complete(self.start_reduce_scatter(comm, array, counts, combine, key, name))

    def start_gather(self, comm: Communicator, root: int, data: bytes, name: str = "MPI_Gather") -> "Pending":
        me = comm.rank_of[self.rank]
        slot, _ = self._enter(comm, name, (f"root={root}",), data, share="to_root", root=root)
        if me != root:
            self._leave(comm, slot)
            return Pending.done(None, name)
        return self._everyone(comm, slot, name, lambda: list(slot.contributions))

    def gather(self, comm: Communicator, root: int, data: bytes, name: str = "MPI_Gather") -> list[bytes] | None:
        return self.complete(self.start_gather(comm, root, data, name))

    def start_allgather(self, comm: Communicator, data: bytes, name: str = "MPI_Allgather") -> "Pending":
        slot, _ = self._enter(comm, name, (), data, share="all")
        return self._everyone(comm, slot, name, lambda: list(slot.contributions))

    def allgather(self, comm: Communicator, data: bytes, name: str = "MPI_Allgather") -> list[bytes]:
        return self.complete(self.start_allgather(comm, data, name))

    def start_scatter(self, comm: Communicator, root: int, chunks: list[bytes] | None, name: str = "MPI_Scatter"):
        me = comm.rank_of[self.rank]
        contribution = chunks if me == root else None
        slot, _ = self._enter(comm, name, (f"root={root}",), contribution, share="root_chunks", root=root)

        def finish() -> bytes:
            chunk = slot.contributions[root][me]
            self._leave(comm, slot)
            return chunk

        return Pending(lambda: slot.contributions[root] is not MISSING, finish, f"{name} (waiting for rank {root})")

    def scatter(self, comm: Communicator, root: int, chunks: list[bytes] | None, name: str = "MPI_Scatter") -> bytes:
        return self.complete(self.start_scatter(comm, root, chunks, name))

    def start_alltoall(self, comm: Communicator, chunks: list[bytes], name: str = "MPI_Alltoall") -> "Pending":
        me = comm.rank_of[self.rank]
        slot, _ = self._enter(comm, name, (), chunks, share="all_chunks")
        return self._everyone(comm, slot, name, lambda: [contribution[me] for contribution in slot.contributions])

    def alltoall(self, comm: Communicator, chunks: list[bytes], name: str = "MPI_Alltoall") -> list[bytes]:
        return self.complete(self.start_alltoall(comm, chunks, name))

    def all_here(self, comm: Communicator) -> bool:
        """Whether every member of ``comm`` runs on this host."""
        local = self.world.local
        return all(local[rank] for rank in comm.group)

    def alltoall_here(self, comm: Communicator, chunks: Sequence, take: Callable[[int, object], None],
                      name: str = "MPI_Alltoall") -> None:
        """A blocking all-to-all among ranks that all run on this host (see :meth:`all_here`).

        ``chunks`` (one per rank) may be views of this rank's own buffer rather
        than copies (*lent*): the other ranks then read them in place, one copy
        in all, and ``take(source, chunk)``, which writes the chunk from
        ``source`` into this rank's buffer, may copy without the GIL, so ranks
        take their chunks at the same time. Once anything was lent (every rank
        sees the same contributions once all arrived), a rank starts taking only
        while no rank has failed (checked under the world lock) and counts
        itself as a reader meanwhile; it returns only once every rank has taken
        its chunks, and unwinds from a failure only once no reader is left. So a
        lent buffer is never read after its owner moved on or unwound.

        Raises:
            MpiError: from ``take``, or the world failed.
        """
        slot, me = self._enter(comm, name, (), list(chunks), share="all_chunks")
        world, everyone = self.world, len(slot.contributions)
        try:
            self.wait_for(lambda: slot.arrived == everyone, f"{name} (waiting for every rank)")
            if not _lent(slot):  # (every rank sees the same contributions now) copies only: take them
                for source, contribution in enumerate(slot.contributions):
                    take(source, contribution[me])
                return
            with world.lock:
                if world.failure is not None:
                    raise world.failure_for(self.rank)
                slot.readers += 1
            try:
                for source, contribution in enumerate(slot.contributions):
                    take(source, contribution[me])
            finally:
                with world.lock:
                    slot.readers -= 1
                    slot.taken += 1
                    world.wake(comm.group)
            self.wait_for(lambda: slot.taken == everyone, f"{name} (waiting for every rank to take its chunks)")
        except BaseException:
            if _lent(slot):
                self._let_readers_finish(slot, everyone)
            raise
        finally:
            self._leave(comm, slot)

    def _let_readers_finish(self, slot: Slot, everyone: int) -> None:
        """Before unwinding from a lending all-to-all: wait until no rank can still read this rank's buffer
        (every rank took its chunks, or the world failed and no reader is left), within the MPI timeout."""
        world = self.world
        deadline = time.monotonic() + world.timeout
        while time.monotonic() < deadline:
            with world.lock:
                if slot.readers == 0 and (slot.taken == everyone or world.failure is not None):
                    return
            time.sleep(_READER_POLL_SECONDS)

    # Communicator construction (collective over the parent) -------------------

    def dup(self, comm: Communicator) -> Communicator:
        def compute(_contributions) -> Communicator:
            return Communicator(self.world.new_context(), comm.group, comm.topology)

        return self._combine(comm, "MPI_Comm_dup", (), None, compute)

    def split(self, comm: Communicator, color: int, key: int) -> Communicator | None:
        def compute(contributions) -> dict[int, Communicator]:
            groups = split_groups(comm.group, contributions)
            return {c: Communicator(self.world.new_context(), g) for c, g in sorted(groups.items())}

        made = self._combine(comm, "MPI_Comm_split", (), (color, key), compute)
        return made.get(color) if color != UNDEFINED else None

    def create(self, comm: Communicator, group: tuple[int, ...], name: str = "MPI_Comm_create", topology=None):
        """A communicator for ``group`` (world ranks); None for ranks outside it."""
        def compute(contributions) -> dict:
            made = {}
            for members, topo in contributions:
                if members and members not in made:
                    made[members] = Communicator(self.world.new_context(), members, topo)
            return made

        made = self._combine(comm, name, (), (group, topology), compute)
        return made.get(group) if self.rank in group else None


def _lent(slot: Slot) -> bool:
    """Whether any rank lent views of its own buffer to an all-to-all (:meth:`Endpoint.alltoall_here`)."""
    return any(
        contribution is not MISSING and any(isinstance(chunk, memoryview) for chunk in contribution)
        for contribution in slot.contributions
    )


def _find(queue: list[Envelope], context: int, source: int, tag: int) -> int | None:
    for index, envelope in enumerate(queue):
        if (
            envelope.context == context
            and (source == ANY_SOURCE or envelope.source == source)
            and (tag == ANY_TAG or envelope.tag == tag)
        ):
            return index
    return None


def _check_size(name: str, got: int, expected: int, source: int) -> None:
    if got > expected:
        raise fail(ErrorClass.ERR_TRUNCATE, f"{name}: rank {source} sent {got} bytes but this rank expects {expected}")
    if got < expected:
        detail = f"mismatched collective {name}: rank {source} sent {got} bytes but this rank expects {expected}"
        raise fail(ErrorClass.ERR_COUNT, detail)

