"""Shared-memory rings between a world's ranks on one host: the guest's fast path.

Every ordered pair of ranks (source, dest) has a single-producer,
single-consumer byte ring in one memfd per world and host. Each rank maps
its inbound rings, its outbound rings and the control area into its own
linear memory (the guest runtime, ``mpi_shim/guest/mpi_runtime.c``, finds
them there), so a small ``MPI_Send``/``MPI_Recv`` is a copy into and out of
shared pages with no host call at all. Anything the
guest cannot do alone goes through the host as before; the host then drains
the rings into the mailboxes (:meth:`SharedRings.drain`) so MPI's rules
still hold:

* **order**: messages from one source never overtake each other. A host
  send from ``s`` to ``d`` goes straight to ``d``'s mailbox only while the
  ring ``s -> d`` is empty; otherwise it waits in the pair's *backlog*, and
  the pair's ``via_host`` flag sends ``s``'s later guest sends through the
  host too, until ``d`` drains the ring and then the backlog.
* **matching**: the guest takes only the message at a ring's head, and only
  while ``d``'s busy flags allow: ``busy_from[s]`` is set while a message
  from world rank ``s`` (or a posted receive that could take one) waits in
  the host, on any communicator; ``any_busy`` while a posted wildcard
  receive, or a message whose sender's world rank is unknown, does. A
  receive from ``s`` needs ``busy_from[s]`` and ``any_busy`` clear; an
  ``MPI_ANY_SOURCE`` receive needs every flag clear. The guest re-reads the
  flags after the ring's head, so a message the host queued first is never
  overtaken. Flags are set when something is queued, and recomputed after
  each of the rank's host calls.
* **waking**: a rank about to sleep in the host sets its ``sleeping`` flag,
  then (after a full memory barrier) drains its rings; a guest sender stores
  its ring's tail, then reads the flag, and calls ``faabric_mpi_wake`` if it
  is set. One of the two always sees the other.

Only the rank's own thread consumes its inbound rings (its guest, or its
host calls) and only the source's thread produces, so no ring needs a lock.
The host reads and writes the rings with plain loads and stores: on x86-64
those are ordered enough (TSO) once the one store-then-load above has its
barrier.

Layout (little-endian u32 words; every region page-aligned so it can be
mapped on its own):

* control, page 0: ``magic, version, size, control_bytes, ring_bytes,
  data_offset, data_bytes, max_inline, aborted, cores``; from byte 256, one byte
  per rank: 1 if it runs on this host; from byte 512, one byte per
  predefined datatype: its size if contiguous, else 0.
* control, from page 1: 128 bytes per rank: ``sleeping`` at +0, ``any_busy``
  at +4, ``busy_from`` (one byte per source rank) from +64.
* ring ``(dest, source)`` at ``control_bytes + (dest * size + source) * ring_bytes``:
  ``tail`` at +0 (producer), ``head`` at +64 (consumer), ``via_host`` at +128,
  data from ``data_offset``. A record is a 16-byte header ``length, tag,
  context, source`` (the source's rank in the communicator) then the payload, padded to 16 bytes; a length of
  ``0xFFFFFFFF`` skips to the ring's start.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
from collections import deque
from typing import Callable

from granules.snapshot import map_fixed

MAGIC = 0x46524E47  # "FRNG"
VERSION = 1
PAGE = mmap.PAGESIZE
MAX_RANKS = 64  # larger worlds use the host path only (the rings would cost too much address space)
RING_HEADER = PAGE
DATA_BYTES = 128 * 1024
RING_BYTES = RING_HEADER + DATA_BYTES
MAX_INLINE = 32 * 1024  # bigger messages go through the host, which copies once
RECORD = struct.Struct("<IiiI")
SKIP = 0xFFFFFFFF
SETTLE_SCAN_LIMIT = 64  # mailboxes longer than this keep their busy flags until they shrink
LOCAL_TABLE = 256
TYPE_TABLE = 512  # one byte per predefined datatype: its size if contiguous, else 0
TYPE_COUNT = 256
RANK_CONTROL = 128
TAIL, HEAD, VIA_HOST = 0, 64, 128
SLEEPING, ANY_BUSY, BUSY_FROM = 0, 4, 64
_HEADER = struct.Struct("<10I")
_U32 = struct.Struct("<I")

Deliver = Callable[[int, int, int, bytes, object, int], None]  # (context, source, tag, data, synchronous, sender)


def _round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


class SharedRings:
    """The rings and flags of one world's ranks on one host (see the module docstring)."""

    def __init__(self, world_id: int, size: int) -> None:
        if size > MAX_RANKS:
            raise ValueError(f"shared rings serve worlds of at most {MAX_RANKS} ranks")
        self.size = size
        self.control_bytes = PAGE + _round_up(RANK_CONTROL * size, PAGE)
        self.total = self.control_bytes + size * size * RING_BYTES
        self.fd = os.memfd_create(f"faabric-mpi-{world_id}", os.MFD_CLOEXEC)
        os.ftruncate(self.fd, self.total)  # sparse: a ring's pages cost nothing until used
        self.map = mmap.mmap(self.fd, self.total)
        self.view = memoryview(self.map)
        cores = len(os.sched_getaffinity(0))  # more local ranks than this: the guest does not poll
        _HEADER.pack_into(
            self.map, 0, MAGIC, VERSION, size, self.control_bytes, RING_BYTES, RING_HEADER, DATA_BYTES, MAX_INLINE, 0,
            cores,
        )
        self.backlogs: dict[tuple[int, int], deque] = {}  # (source, dest) -> host sends waiting behind the ring
        self._barrier = threading.Lock()

    # Layout ------------------------------------------------------------------

    def ring(self, dest: int, source: int) -> int:
        return self.control_bytes + (dest * self.size + source) * RING_BYTES

    def _control(self, rank: int) -> int:
        return PAGE + rank * RANK_CONTROL

    def guest_bytes(self) -> int:
        """How much linear memory one rank's view takes: control, inbound rings, outbound rings."""
        return self.control_bytes + 2 * self.size * RING_BYTES

    def map_into(self, address: int, rank: int) -> None:
        """Map ``rank``'s view at ``address`` (page-aligned, ``guest_bytes()`` long, in its linear memory)."""
        map_fixed(address, self.control_bytes, mmap.MAP_SHARED, self.fd, 0)
        inbound = address + self.control_bytes
        map_fixed(inbound, self.size * RING_BYTES, mmap.MAP_SHARED, self.fd, self.ring(rank, 0))
        outbound = inbound + self.size * RING_BYTES
        for dest in range(self.size):
            map_fixed(outbound + dest * RING_BYTES, RING_BYTES, mmap.MAP_SHARED, self.fd, self.ring(dest, rank))

    # Flags -------------------------------------------------------------------

    def _get(self, offset: int) -> int:
        return _U32.unpack_from(self.map, offset)[0]

    def _set(self, offset: int, value: int) -> None:
        _U32.pack_into(self.map, offset, value)

    def set_local(self, local: list[bool]) -> None:
        """Which ranks run on this host (only they use the rings)."""
        self.map[LOCAL_TABLE : LOCAL_TABLE + self.size] = bytes(int(flag) for flag in local)

    def set_type_sizes(self, sizes: bytes) -> None:
        """Sizes of the predefined datatypes, by handle order (0: the guest leaves the type to the host)."""
        self.map[TYPE_TABLE : TYPE_TABLE + len(sizes)] = sizes[:TYPE_COUNT]

    def set_aborted(self) -> None:
        """Tell spinning guests the world has failed: they go to the host, which raises."""
        self._set(32, 1)

    def mark_busy(self, rank: int, source: int | None) -> None:
        """Something from world rank ``source`` (None: from anyone, or unknown) waits in ``rank``'s mailbox:
        its guest must receive that through the host."""
        if source is None:
            self._set(self._control(rank) + ANY_BUSY, 1)
        else:
            self.map[self._control(rank) + BUSY_FROM + source] = 1

    def settle(self, rank: int, mailbox) -> None:
        """Recompute ``rank``'s busy flags from what waits for it in the host (world lock held, on its thread).

        A long mailbox keeps its flags as they are (set), rather than cost a
        scan after every host call.
        """
        if len(mailbox.unexpected) + len(mailbox.posted) > SETTLE_SCAN_LIMIT:
            return
        busy, any_busy = bytearray(self.size), 0
        for envelope in mailbox.unexpected:
            if envelope.sender < 0:
                any_busy = 1
            else:
                busy[envelope.sender] = 1
        for request in mailbox.posted:
            if request.want_sender < 0:
                any_busy = 1
            else:
                busy[request.want_sender] = 1
        for source in range(self.size):
            if self.backlogs.get((source, rank)):
                busy[source] = 1
        control = self._control(rank)
        self._set(control + ANY_BUSY, any_busy)
        self.map[control + BUSY_FROM : control + BUSY_FROM + self.size] = busy

    def set_sleeping(self, rank: int, sleeping: bool) -> None:
        """Say whether ``rank`` sleeps in the host; setting it is followed by a full memory barrier."""
        self._set(self._control(rank) + SLEEPING, int(sleeping))
        if sleeping:
            # A locked instruction on x86-64 (an uncontended lock's acquire and release): the flag
            # is visible to guest senders before this thread reads the rings' tails.
            with self._barrier:
                pass

    # Host sends ----------------------------------------------------------------

    def pair_idle(self, source: int, dest: int) -> bool:
        """Whether nothing from ``source`` waits for ``dest`` in the ring or the backlog (world lock held)."""
        ring = self.ring(dest, source)
        return self._get(ring + TAIL) == self._get(ring + HEAD) and not self.backlogs.get((source, dest))

    def hold(self, source: int, dest: int, envelope: tuple) -> None:
        """Queue a host send behind the ring's messages; ``source``'s guest sends follow it through the host."""
        self.backlogs.setdefault((source, dest), deque()).append(envelope)
        self._set(self.ring(dest, source) + VIA_HOST, 1)
        self.mark_busy(dest, source)

    # Receiving -----------------------------------------------------------------

    def drain(self, rank: int, local: list[bool], deliver: Deliver) -> None:
        """Move everything waiting for ``rank`` (rings, then backlogs) into its mailbox via ``deliver``.

        Runs on ``rank``'s own thread with the world lock held.
        """
        view = self.view
        for source in range(self.size):
            if not local[source]:
                continue
            ring = self.ring(rank, source)
            head, tail = self._get(ring + HEAD), self._get(ring + TAIL)
            if head != tail:
                data_start = ring + RING_HEADER
                while head != tail:
                    at = head % DATA_BYTES
                    length, tag, context, sender = RECORD.unpack_from(self.map, data_start + at)
                    if length == SKIP:
                        head = (head + DATA_BYTES - at) & 0xFFFFFFFF
                        continue
                    start = data_start + at + RECORD.size
                    deliver(context, sender, tag, bytes(view[start : start + length]), None, source)
                    head = (head + RECORD.size + _round_up(length, 16)) & 0xFFFFFFFF
                self._set(ring + HEAD, head)
            backlog = self.backlogs.get((source, rank))
            while backlog:
                deliver(*backlog.popleft(), source)
            if backlog is not None:
                self._set(ring + VIA_HOST, 0)

    def close(self) -> None:
        """Close the file once the world's ranks here are done; the pages go with the last mapping."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
