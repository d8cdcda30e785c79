"""The host side of the shared rings: draining in MPI order, backlogs, busy flags, and each rank's mapping.

Records are written here the way the guest runtime writes them (the layout
is in faabric/mpi/rings.py); the guest half itself runs in
tests/mpi_shim/programs/rings.c.
"""

from __future__ import annotations

import ctypes
import mmap
import struct

import pytest

from faabric.mpi import rings as layout
from faabric.mpi.mailbox import ANY_SOURCE, Envelope, Mailbox, RecvRequest
from faabric.mpi.rings import SharedRings


@pytest.fixture
def rings():
    shared = SharedRings(1, 3)
    shared.set_local([True, True, True])
    yield shared
    shared.close()


def push(shared: SharedRings, source: int, dest: int, tag: int, payload: bytes) -> None:
    """What the guest's MPI_Send does: a record at the tail (wrapping with a skip record), then the new tail."""
    ring = shared.ring(dest, source)
    tail = shared._get(ring + layout.TAIL)
    need = layout.RECORD.size + -(-len(payload) // 16) * 16
    at = tail % layout.DATA_BYTES
    room = layout.DATA_BYTES - at
    data = ring + layout.RING_HEADER
    if need > room:
        struct.pack_into("<I", shared.map, data + at, layout.SKIP)
        tail += room
        at = 0
    layout.RECORD.pack_into(shared.map, data + at, len(payload), tag, 0, source)
    shared.map[data + at + 16 : data + at + 16 + len(payload)] = payload
    shared._set(ring + layout.TAIL, (tail + need) & 0xFFFFFFFF)


def drained(shared: SharedRings, rank: int) -> list[tuple]:
    got: list[tuple] = []
    shared.drain(rank, [True] * shared.size, lambda *message: got.append(message))
    return got


def test_ring_messages_come_out_in_order_and_before_the_backlog_behind_them(rings):
    push(rings, 0, 1, 5, b"first")
    push(rings, 0, 1, 6, b"second")
    assert not rings.pair_idle(0, 1)
    rings.hold(0, 1, (0, 0, 7, b"held", None))
    assert rings._get(rings.ring(1, 0) + layout.VIA_HOST) == 1  # later guest sends go through the host
    assert [(tag, data) for _, _, tag, data, _, _ in drained(rings, 1)] == [(5, b"first"), (6, b"second"), (7, b"held")]
    assert rings._get(rings.ring(1, 0) + layout.VIA_HOST) == 0
    assert rings.pair_idle(0, 1)
    assert drained(rings, 1) == []


def test_records_wrap_around_the_ring_end(rings):
    payload = bytes(range(256)) * 40  # 10 KiB: twelve fit in the 128 KiB ring; the second round wraps
    for round_ in range(3):
        for index in range(12):
            push(rings, 2, 0, round_ * 100 + index, payload)
        got = drained(rings, 0)
        assert [tag for _, _, tag, _, _, _ in got] == [round_ * 100 + index for index in range(12)]
        assert all(data == payload and source == sender == 2 for _, source, _, data, _, sender in got)


def test_busy_flags_follow_what_waits_in_the_host(rings):
    control = rings._control(1)
    flags = lambda: (rings._get(control + layout.ANY_BUSY), bytes(rings.map[control + 64 : control + 67]))  # noqa: E731
    box = Mailbox()
    box.unexpected.append(Envelope(0, 2, 3, b"x", None, 2))
    box.unexpected.append(Envelope(99, 1, 3, b"another communicator", None, 0))
    rings.settle(1, box)
    assert flags() == (0, b"\1\0\1")  # messages hold back receives from their sender's world rank
    box.posted.append(RecvRequest(1, 0, ANY_SOURCE, 4, 8, lambda data: None, -1))
    rings.settle(1, box)
    assert flags() == (1, b"\1\0\1")  # a wildcard receive holds back every receive
    box.unexpected.append(Envelope(99, 1, 3, b"from another host", None, -1))
    box.posted.clear()
    rings.settle(1, box)
    assert flags() == (1, b"\1\0\1")  # so does a message whose sender is unknown
    box.unexpected.clear()
    box.posted.clear()
    rings.hold(0, 1, (0, 0, 1, b"held", None))
    rings.settle(1, box)
    assert flags() == (0, b"\1\0\0")  # a backlog counts too
    drained(rings, 1)
    rings.settle(1, box)
    assert flags() == (0, b"\0\0\0")


def test_a_rank_sees_its_inbound_and_outbound_rings_where_the_guest_looks(rings):
    size = rings.guest_bytes()
    region = mmap.mmap(-1, size)
    anchor = ctypes.c_char.from_buffer(region)
    address = ctypes.addressof(anchor)
    try:
        rings.map_into(address, 1)
        view = (ctypes.c_char * size).from_address(address)
        control, ring = rings.control_bytes, layout.RING_BYTES
        assert struct.unpack_from("<3I", view, 0) == (layout.MAGIC, layout.VERSION, 3)
        push(rings, 2, 1, 9, b"to rank 1")  # inbound ring from rank 2
        inbound = control + 2 * ring + layout.RING_HEADER
        assert bytes(view[inbound + 16 : inbound + 25]) == b"to rank 1"
        struct.pack_into("<I", view, control + 3 * ring + 0 * ring + layout.TAIL, 48)  # outbound ring to rank 0
        assert rings._get(rings.ring(0, 1) + layout.TAIL) == 48
    finally:
        del view, anchor
        region.close()
