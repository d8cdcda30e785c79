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

Ranks on one host also pass small messages through shared rings in their
own memory, without the host (:mod:`faabric.mpi.rings`); every matching
operation here drains a rank's rings into its mailbox first, and a waiting
rank tells guest senders it sleeps, so they wake it.

A world may span hosts. Each host then has its own :class:`World` for the
ranks it runs, linked by the host's :class:`~faabric.mpi.network.MpiNetwork`:
the world's *home* (rank 0's host) learns where every rank runs as the ranks
join, and tells every host (the *map*); ``MPI_Init`` returns once the map is
known. Messages to a rank on another host travel over the network; a failure
anywhere aborts the world on every host. Deadlocks across hosts end with the
MPI timeout.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from typing import Callable, ContextManager

from faabric.exceptions import FaabricError, MpiDeadlockError, MpiError, MpiWorldFailedError
from faabric.mpi.communicators import Communicator
from faabric.mpi.errors import ErrorClass, fail
from faabric.mpi.mailbox import ANY_SOURCE, ANY_TAG, Envelope, Mailbox, RemoteSend, SendRequest, complete_receive
from faabric.mpi.rings import MAX_RANKS, SharedRings
from faabric.mpi.slots import MISSING, Slot, show_signature

DEADLOCK_CHECK_SECONDS = 0.1


class World:
    """The shared state of one MPI world on one host.

    ``network`` links the world's hosts (None: every rank runs here);
    ``home`` is the network address of rank 0's host, or "" on that host.
    """

    def __init__(self, world_id: int, size: int, timeout: float, network=None, home: str = "") -> None:
        self.id = world_id
        self.size = size
        self.timeout = timeout
        self.network = network
        self.home = home
        self.address = network.address if network is not None else ""
        self.lock = threading.Lock()
        self.doorbells = [threading.Lock() for _ in range(size)]  # locked: nobody has rung since the rank looked
        self.mailboxes = [Mailbox() for _ in range(size)]
        self._contexts = itertools.count(1)
        self.comm_world = Communicator(0, tuple(range(size)))
        self.moved = 0  # bumped by everything that could wake a waiting rank
        self.waiting: list = [None] * size  # what each rank waits in: a string, or a callable making one
        self.blocked = 0
        self.joined: set[int] = set()
        self.departed: set[int] = set()
        self.failure: tuple[int, FaabricError] | None = None
        # Where the ranks run: known once every rank has joined (the map).
        self.addresses: list[str | None] = [None] * size  # each rank's host
        self.inbox_addresses: list[str | None] = [None] * size  # where messages to each rank go
        self.inboxes: list = [None] * size  # this host's ranks' inboxes, while the world spans hosts
        self.local = [True] * size
        self.mapped = False
        self.spans = False
        self._ordinal = 0  # this host's place among the world's hosts: keeps context ids unique
        self.slots: dict[tuple[int, int], object] = {}  # (context, sequence) -> collective in progress
        self.sync_sends: dict[int, SendRequest] = {}  # synchronous sends to other hosts awaiting their match
        self._sync_ids = itertools.count(1)
        self.on_empty: Callable[[], None] | None = None  # called once every local rank has departed
        # The guest's fast path between this host's ranks (None: host path only).
        self.rings = SharedRings(world_id, size) if 1 < size <= MAX_RANKS else None

    # Membership -------------------------------------------------------------

    def join(self, rank: int) -> None:
        """Rank ``rank`` runs on this host and has called ``MPI_Init`` (on its own thread).

        With a network, the rank gets an inbox: messages from other hosts go
        there, straight to the rank's thread (dropped again if the world turns
        out to live on this host alone).
        """
        inbox = self.network.channel.inbox() if self.network is not None else None
        with self.lock:
            self.joined.add(rank)
            self.addresses[rank] = self.address
            if inbox is not None:
                self.inboxes[rank], self.inbox_addresses[rank] = inbox, inbox.address
            if not self.home:
                self._map_if_complete()
        if self.home:
            self.network.send_join(self.home, self.id, rank, inbox.address)

    def joined_remotely(self, rank: int, address: str, inbox_address: str) -> None:
        """(Home only) rank ``rank`` has joined on the host at ``address``."""
        with self.lock:
            self.addresses[rank], self.inbox_addresses[rank] = address, inbox_address
            if self.failure is not None:  # it missed the news
                self.network.send_abort(address, self.id, *self.failure)
            self._map_if_complete()

    def _map_if_complete(self) -> None:
        if self.mapped or None in self.addresses:
            return
        self._set_map(self.addresses, self.inbox_addresses)
        for address in self.hosts():
            self.network.send_map(address, self.id, self.addresses, self.inbox_addresses)

    def set_map(self, addresses: list[str], inbox_addresses: list[str]) -> None:
        """(Other hosts) the home's map of where every rank runs."""
        with self.lock:
            if not self.mapped:
                self._set_map(list(addresses), list(inbox_addresses))

    def _set_map(self, addresses: list[str], inbox_addresses: list) -> None:
        self.addresses, self.inbox_addresses = addresses, inbox_addresses
        self.local = [address == self.address for address in addresses]
        hosts = list(dict.fromkeys(addresses))
        self._ordinal = hosts.index(self.address)
        self.spans = len(hosts) > 1
        self.mapped = True
        if self.rings is not None and sum(self.local) < 2:  # nobody here to share rings with
            self.rings.close()
            self.rings = None
        if self.rings is not None:
            self.rings.set_local(self.local)
        self._wake_all()

    def initialized(self, rank: int) -> None:
        """Rank ``rank`` knows the map: without other hosts, it waits on its doorbell from now on."""
        if not self.spans:
            with self.lock:
                self._drop_inbox(rank)

    def _drop_inbox(self, rank: int) -> None:
        """Close ``rank``'s inbox, if it has one (lock held)."""
        inbox, self.inboxes[rank] = self.inboxes[rank], None
        if inbox is not None:
            inbox.close()

    def progress(self, rank: int) -> None:
        """Take in messages waiting in ``rank``'s inbox and rings, without blocking (``MPI_Test``, ``MPI_Iprobe``)."""
        inbox = self.inboxes[rank]
        if inbox is not None:
            messages = inbox.drain()
            if messages:
                with self.lock:
                    self.network.take(self, messages)
        if self.rings is not None:
            with self.lock:
                self.take_rings(rank)

    def hosts(self) -> list[str]:
        """The addresses of the other hosts this world is known to run on."""
        return [a for a in dict.fromkeys(self.addresses) if a is not None and a != self.address]

    def depart(self, rank: int) -> None:
        """Rank ``rank`` finalized or finished: it will never send or receive again."""
        with self.lock:
            if rank in self.departed:
                return
            self.departed.add(rank)
            self.mailboxes[rank].posted.clear()  # its buffers may belong to the next call
            self._drop_inbox(rank)
            self._wake_all()
            on_empty = self.on_empty if self.home and self._no_local_ranks_left() else None
            if on_empty is not None:
                self.on_empty = None
        if on_empty is not None:
            on_empty()

    def _no_local_ranks_left(self) -> bool:
        if self.mapped:
            return all(rank in self.departed for rank in range(self.size) if self.local[rank])
        return self.failure is not None and self.joined <= self.departed

    @property
    def finished(self) -> bool:
        return len(self.departed) == self.size

    def new_context(self) -> int:
        """A fresh communicator context id, unique across the world's hosts."""
        return next(self._contexts) << 8 | self._ordinal

    # Failure ----------------------------------------------------------------

    def abort(self, rank: int, error: FaabricError, tell_others: bool = True) -> None:
        """Fail the world because of ``rank``'s ``error``; wake every waiting rank.

        The world's other hosts hear of it too (the home passes on what it
        hears, since another host may not know the map yet).
        """
        with self.lock:
            self._abort_locked(rank, error, tell_others or not self.home)

    def _abort_locked(self, rank: int, error: FaabricError, tell_others: bool = True) -> None:
        if self.failure is None:
            self.failure = (rank, error)
            if self.rings is not None:
                self.rings.set_aborted()
            self._wake_all()
            if tell_others and self.network is not None:
                for address in self.hosts() or ([self.home] if self.home else []):
                    self.network.send_abort(address, self.id, rank, error)

    def failure_for(self, rank: int) -> MpiError:
        """The error a rank raises once the world has failed."""
        failed_rank, error = self.failure
        if isinstance(error, MpiDeadlockError):
            return MpiDeadlockError(error.error_class, error.error_name, error.detail, "", rank, self.id)
        return MpiWorldFailedError(failed_rank, str(error), "", rank, self.id)

    def _wake_all(self) -> None:
        self.moved += 1
        for rank, doorbell in enumerate(self.doorbells):
            inbox = self.inboxes[rank]
            if inbox is not None:
                inbox.ring()
            elif doorbell.locked():
                doorbell.release()

    def wake(self, ranks) -> None:
        """Wake ``ranks`` (world ranks) after progress they may wait for (lock held)."""
        self.moved += 1
        waiting = self.waiting
        for rank in ranks:
            if waiting[rank] is not None:  # only a rank inside _wait_locked sleeps on its doorbell or inbox
                inbox = self.inboxes[rank]
                if inbox is not None:
                    inbox.ring()
                    continue
                doorbell = self.doorbells[rank]
                if doorbell.locked():
                    doorbell.release()

    # Point to point -----------------------------------------------------------

    def send_here(self, dest: int, context: int, source: int, tag: int, data, synchronous, sender: int) -> None:
        """A host send from world rank ``sender`` to ``dest`` on this host (lock held).

        It goes straight to ``dest``'s mailbox unless earlier messages of the
        pair still wait in the shared ring: then it queues behind them.
        """
        rings = self.rings
        if rings is None or rings.pair_idle(sender, dest):
            self.deliver(dest, context, source, tag, data, synchronous, False, sender=sender)
        else:
            rings.hold(sender, dest, (context, source, tag, bytes(data), synchronous))
            self.wake((dest,))

    def take_rings(self, rank: int) -> None:
        """Move what waits for ``rank`` in the shared rings into its mailbox (lock held, on ``rank``'s thread)."""
        rings = self.rings
        if rings is not None and self.mapped:  # (a world whose ranks here have nobody to share with drops them)
            deliver = self.deliver
            rings.drain(
                rank, self.local,
                lambda context, source, tag, data, synchronous, sender: deliver(
                    rank, context, source, tag, data, synchronous, True, False, sender
                ),
            )

    def receive_direct(
        self, rank: int, context: int, source: int, tag: int, what, blocking: Callable[[], ContextManager] | None
    ) -> tuple[int, object] | None:
        """A blocking receive by ``rank`` from ``source``, a rank on another host: the lean path of ``MPI_Recv``.

        Only ``source``'s messages can match, and they come only through
        ``rank``'s own inbox, which only ``rank``'s thread reads: so while
        nothing waits in its mailbox and no receive is posted, the rank can
        wait on its inbox with no request, and no lock but to pass on
        messages that are not the one it wants. Returns ``(tag, data)`` of the
        matched message (a synchronous sender is acknowledged), or None when
        the general path must receive (something already waits here).

        Raises:
            MpiWorldFailedError: the world failed, before or meanwhile.
            MpiDeadlockError: the MPI timeout passed.
        """
        if self.failure is not None:
            raise self.failure_for(rank)
        inbox, box = self.inboxes[rank], self.mailboxes[rank]
        if inbox is None or box.unexpected or box.posted:  # (only this rank's thread adds what could match)
            return None
        deadline = 0.0  # set at the first wake-up without the message (a clock read saved on the usual path)
        self.waiting[rank] = what  # for a deadlock report; failures ring the inbox anyway
        try:
            with (blocking or contextlib.nullcontext)():
                while True:
                    first = inbox.receive(DEADLOCK_CHECK_SECONDS)
                    message = self.network.parse(self, first, inbox.next_part) if first else None
                    if self.failure is not None:
                        raise self.failure_for(rank)
                    if message is not None:
                        dest, got_context, got_source, got_tag, data, synchronous = message
                        if got_context == context and got_source == source and (tag == ANY_TAG or got_tag == tag):
                            if synchronous is not None:  # (from an inbox, always a RemoteSend)
                                self.network.send_ack(synchronous.address, self.id, synchronous.sync_id)
                            return got_tag, data
                        with self.lock:
                            self.deliver(dest, got_context, got_source, got_tag, data, synchronous, True, dest != rank)
                    if not deadline:
                        deadline = time.monotonic() + self.timeout
                    elif time.monotonic() >= deadline:
                        with self.lock:
                            error = self._deadlock(rank, f"no progress within the MPI timeout of {self.timeout:g}s")
                            self._abort_locked(rank, error)
                        raise error
        finally:
            self.waiting[rank] = None

    def settle(self, rank: int) -> None:
        """After a host call: let ``rank``'s guest receive by itself again if nothing waits in the host."""
        with self.lock:
            self.rings.settle(rank, self.mailboxes[rank])

    def wake_rank(self, rank: int) -> None:
        """A guest sender found ``rank`` asleep in the host after filling its ring."""
        with self.lock:
            self.wake((rank,))

    def deliver(
        self, dest: int, context: int, source: int, tag: int, data, synchronous, owned: bool, wake: bool = True,
        sender: int | None = None,
    ) -> None:
        """Hand a message to rank ``dest`` (lock held): into a matching posted receive, else its mailbox.

        ``synchronous`` is the sender's request if it waits for the match (a
        :class:`SendRequest` on this host, a :class:`RemoteSend` on another);
        ``owned`` says ``data`` may be kept as it is rather than copied;
        ``wake`` is False when ``dest`` is the calling thread itself;
        ``sender`` is the sender's world rank, if known (``source`` is its
        rank in the communicator, the same on ``MPI_COMM_WORLD``).
        """
        box = self.mailboxes[dest]
        for index, posted in enumerate(box.posted):
            if (
                posted.context == context
                and (posted.want_source == source or posted.want_source == ANY_SOURCE)
                and (posted.want_tag == tag or posted.want_tag == ANY_TAG)
            ):
                del box.posted[index]
                complete_receive(posted, source, tag, data)
                if synchronous is not None:
                    self.matched(synchronous)
                if wake:
                    self.wake((dest,))
                return
        if sender is None:
            sender = source if context == 0 else -1
        box.unexpected.append(Envelope(context, source, tag, data if owned else bytes(data), synchronous, sender))
        if self.rings is not None:  # the guest's fast path must not overtake it
            self.rings.mark_busy(dest, sender if sender >= 0 else None)
        if wake:
            self.wake((dest,))

    def matched(self, synchronous: SendRequest | RemoteSend) -> None:
        """A synchronous send's message met its receive: complete the send, wherever it runs (lock held)."""
        if isinstance(synchronous, RemoteSend):
            self.network.send_ack(synchronous.address, self.id, synchronous.sync_id)
        else:
            synchronous.done = True
            self.wake((synchronous.owner,))

    def register_sync(self, request: SendRequest) -> int:
        """An id under which another host acknowledges ``request``'s match (lock held)."""
        sync_id = next(self._sync_ids)
        self.sync_sends[sync_id] = request
        return sync_id

    def acknowledged(self, sync_id: int) -> None:
        """Another host matched the synchronous send ``sync_id``."""
        with self.lock:
            request = self.sync_sends.pop(sync_id, None)
            if request is not None:
                request.done = True
                self.wake((request.owner,))

    # Collectives --------------------------------------------------------------

    def slot(self, key: tuple[int, int], group: tuple[int, ...], name: str, signature: tuple, first_rank: int,
             share: str, root: int) -> Slot:
        """The collective ``key`` (context, sequence) on this host, made on first use (lock held).

        Raises:
            MpiError: the collective does not match what other ranks called.
        """
        slot = self.slots.get(key)
        if slot is None:
            local = self.local
            members = [index for index, world_rank in enumerate(group) if local[world_rank]]
            coordinator = self.addresses[group[0]] or ""
            slot = self.slots[key] = Slot(key, group, name, signature, first_rank, share, root, members, coordinator)
        elif (slot.name, slot.signature) != (name, signature):
            raise fail(
                ErrorClass.ERR_OTHER,
                f"mismatched collective: rank {first_rank} called {name}{show_signature(signature)} but rank "
                f"{slot.first_rank} called {slot.name}{show_signature(slot.signature)} (ranks in the communicator)",
            )
        return slot

    def collective_progress(self, slot: Slot) -> None:
        """Pass a collective spanning hosts along (lock held).

        Other hosts send their ranks' contributions to the coordinator (the
        host of the communicator's rank 0) in one bundle once all have
        arrived; the coordinator, once it has everything (and the result, if
        the collective computes one), sends each host what its ranks need.
        """
        if not slot.spans or slot.sent:
            return
        if slot.coordinator != self.address:
            if slot.local_arrived == len(slot.members):
                slot.sent = True
                given = {index: slot.contributions[index] for index in slot.members}
                self.network.send_bundle(slot.coordinator, self.id, slot, given)
        elif slot.arrived == len(slot.contributions) and (slot.share != "result" or slot.result is not MISSING):
            slot.sent = True
            for address, members in slot.remote_hosts(self.addresses).items():
                payload = slot.completion_for(members)
                if payload is not None:
                    self.network.send_completion(address, self.id, slot.key, payload)

    def bundle_arrived(self, key, group, name, signature, share, root, given: dict) -> None:
        """(Coordinator) another host's ranks' contributions to a collective."""
        with self.lock:
            if self.failure is not None:
                return
            first = min(given)
            try:
                slot = self.slot(key, group, name, signature, first, share, root)
            except MpiError as error:
                self._abort_locked(group[first], error)
                return
            for index, contribution in given.items():
                slot.contributions[index] = contribution
            slot.arrived += len(given)
            self.collective_progress(slot)
            self._retire_if_done(slot)
            self.wake(group)

    def completion_arrived(self, key, payload: dict) -> None:
        """(Other hosts) what this host's ranks need of a finished collective."""
        with self.lock:
            slot = self.slots.get(key)
            if slot is None:
                return
            for index, contribution in payload.get("given", {}).items():
                slot.contributions[index] = contribution
            slot.arrived = len(slot.contributions)
            if "result" in payload:
                slot.result, slot.claimed = payload["result"], True
            self.wake(slot.group)

    def leave(self, slot: Slot) -> None:
        """One of this host's ranks is done with ``slot``."""
        with self.lock:
            slot.left += 1
            self._retire_if_done(slot)

    def _retire_if_done(self, slot: Slot) -> None:
        if slot.left == len(slot.members) and (slot.sent or not slot.spans):
            self.slots.pop(slot.key, None)

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
            if self.rings is not None:
                self.take_rings(rank)
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
        rings = self.rings
        if rings is not None:
            rings.set_sleeping(rank, True)  # guest senders wake this rank from now on
        try:
            while True:
                if self.failure is not None:
                    raise self.failure_for(rank)
                if rings is not None:
                    self.take_rings(rank)
                if ready():
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    error = self._deadlock(rank, f"no progress within the MPI timeout of {self.timeout:g}s")
                    self._abort_locked(rank, error)
                    raise error
                inbox = self.inboxes[rank]
                if inbox is not None:  # messages from other hosts come straight to this thread
                    self.lock.release()
                    try:
                        messages = inbox.wait(min(DEADLOCK_CHECK_SECONDS, remaining))
                    finally:
                        self.lock.acquire()
                    if messages:
                        self.network.take(self, messages)
                else:
                    doorbell.acquire(False)  # earlier rings are stale: ready() was checked under the lock since
                    self.lock.release()
                    try:
                        doorbell.acquire(timeout=min(DEADLOCK_CHECK_SECONDS, remaining))
                    finally:
                        self.lock.acquire()
                if self.failure is None and not ready() and self._all_stuck():
                    if stuck_at == self.moved:
                        error = self._deadlock(rank, "every rank is waiting or has finished")
                        self._abort_locked(rank, error)
                        raise error
                    stuck_at = self.moved
                else:
                    stuck_at = None
        finally:
            self.blocked -= 1
            self.waiting[rank] = None
            if rings is not None:
                rings.set_sleeping(rank, False)

    def _all_stuck(self) -> bool:
        if self.spans:  # a rank on another host may have finished with its last messages still on the way
            return False
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
