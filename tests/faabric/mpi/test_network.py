"""The MPI wire between hosts: collective values round-trip, and junk is dropped without harm."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from faabric.exceptions import FaabricError, MpiError
from faabric.mpi import wire
from faabric.mpi.communicators import Communicator
from faabric.mpi.endpoint import Endpoint
from faabric.mpi.network import MpiNetwork
from faabric.mpi.registry import WorldRegistry
from faabric.mpi.topology import CartTopology
from faabric.mpi.world import DEADLOCK_CHECK_SECONDS
from faabric.transport.peers import Switchboard


def test_collective_values_round_trip_with_their_types():
    pairs = np.zeros(3, dtype=[("value", "<f8"), ("index", "<i4")])
    pairs["value"] = [1.5, -2.0, 3.25]
    value = {
        "result": pairs,
        "made": {(0, 2): Communicator(77, (0, 2), CartTopology((2,), (True,)))},
        "given": {1: [b"chunk", None, memoryview(b"view")]},
    }
    back = wire.unpack(wire.pack(value))
    assert back["result"].dtype == pairs.dtype and back["result"].tolist() == pairs.tolist()
    comm = back["made"][(0, 2)]
    assert (comm.context, comm.group, comm.topology) == (77, (0, 2), CartTopology((2,), (True,)))
    assert back["given"][1] == (b"chunk", None, b"view")


def _world_on_two_hosts():
    switchboard = Switchboard()
    home, other = WorldRegistry(switchboard.channel()), WorldRegistry(switchboard.channel())
    world = home.create(5, 2, timeout=5.0)
    world.join(0)
    world.joined_remotely(1, other.network.address, "inproc://nowhere")
    return world, home, other


def test_malformed_inbox_messages_are_dropped_with_a_log_line_and_a_good_one_still_lands(caplog):
    world, home, other = _world_on_two_hosts()
    try:
        inbox = world.inboxes[0]
        good = []
        other.network.channel.post(inbox.address, [b"\x00"])  # too short
        other.network.channel.post(inbox.address, [b"\xff" * 40])  # another world's
        sender = MpiNetwork(other.network.channel, other)
        sender.send_message(inbox.address, world.id, 0, 0, 1, 3, 0, b"payload")
        with caplog.at_level(logging.WARNING, logger="faabric.mpi.network"):
            for _ in range(50):
                good += inbox.wait(0.1)
                if len(good) == 3:
                    break
            with world.lock:
                home.network.take(world, good)
        assert sum("dropped a malformed MPI message" in r.message for r in caplog.records) == 2
        envelope = world.mailboxes[0].unexpected[0]
        assert (envelope.source, envelope.tag, bytes(envelope.data)) == (1, 3, b"payload")
    finally:
        home.network.channel.close()
        other.network.channel.close()


def test_malformed_host_messages_are_dropped_and_the_channel_keeps_serving(caplog):
    world, home, other = _world_on_two_hosts()
    try:
        with caplog.at_level(logging.WARNING):
            for junk in ([b"\xc1"], [b"\x92\x07\x05"], [b"\x93\x03\x05\x01"], []):
                other.network.channel.send(home.network.address, b"mpi", junk)
            other.network.send_abort(home.network.address, world.id, 1, FaabricError("rank 1 broke"))
            deadline = time.monotonic() + 5
            while world.failure is None and time.monotonic() < deadline:
                time.sleep(0.01)
        assert world.failure is not None and world.failure[0] == 1
        assert "rank 1 broke" in str(world.failure[1])
        assert sum("dropped a malformed MPI message" in r.message for r in caplog.records) >= 3
    finally:
        home.network.channel.close()
        other.network.channel.close()


def test_a_rank_elsewhere_finishing_before_its_last_message_lands_is_not_a_deadlock():
    """The planner may report a remote rank finished before its last message reaches the receiver's inbox."""
    world, home, other = _world_on_two_hosts()
    try:
        assert world.spans and world.mapped
        endpoint = Endpoint(world, 0)
        box = bytearray(8)
        request = endpoint.post_recv(world.comm_world, 1, 4, 8, lambda data: box.__setitem__(slice(0, len(data)), data))
        outcome: list = []
        waiter = threading.Thread(target=lambda: outcome.append(_wait(endpoint, request)))
        waiter.start()
        world.depart(1)  # rank 1's result came back first...
        time.sleep(5 * DEADLOCK_CHECK_SECONDS)  # ...for longer than the deadlock detector's two looks
        other.network.send_message(world.inbox_addresses[0], world.id, 0, 0, 1, 4, 0, b"last one")
        waiter.join(5)
        assert outcome == ["done"] and bytes(box) == b"last one"
    finally:
        home.network.channel.close()
        other.network.channel.close()


def _wait(endpoint: Endpoint, request) -> str:
    try:
        endpoint.wait(request, "MPI_Recv(source=1)")
        return "done"
    except MpiError as error:
        return error


def _ranks_on_two_hosts(size: int, body) -> tuple[list, list]:
    """Ranks 0..size/2-1 on one host and the rest on another (threads, in-process channels); each runs
    ``body(endpoint)``. Returns the results and the kinds of host-to-host messages sent after every rank joined."""
    switchboard = Switchboard()
    home, other = WorldRegistry(switchboard.channel()), WorldRegistry(switchboard.channel())
    worlds = [home.create(9, size, timeout=10.0), other.join(9, size, 10.0, home.network.address)[0]]
    sent: list = []
    joined = threading.Barrier(size)
    for registry in (home, other):
        original = registry.network._send

        def counting(address, header, body=None, original=original):
            sent.append(header[0])
            original(address, header, body)

        registry.network._send = counting
    results: list = [None] * size

    def rank(number: int) -> None:
        world = worlds[number >= size // 2]
        world.join(number)
        world.wait_until(number, lambda: world.mapped, "MPI_Init")
        world.initialized(number)
        if joined.wait() == 0:
            sent.clear()  # joins and the map are behind us
        joined.wait()
        results[number] = body(Endpoint(world, number))
        world.depart(number)

    threads = [threading.Thread(target=rank, args=(n,)) for n in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    home.network.channel.close()
    other.network.channel.close()
    return results, sent


def test_a_broadcast_crosses_between_hosts_once_each_way():
    def bcast(endpoint: Endpoint):
        comm = endpoint.world.comm_world
        return bytes(endpoint.bcast(comm, 0, b"from rank 0" if endpoint.rank == 0 else None, 11))

    results, sent = _ranks_on_two_hosts(6, bcast)
    assert results == [b"from rank 0"] * 6
    assert sorted(kind.name for kind in sent) == ["BUNDLE", "COMPLETION"]


def test_an_allreduce_crosses_between_hosts_once_each_way_and_every_rank_gets_the_sum():
    def allreduce(endpoint: Endpoint):
        comm = endpoint.world.comm_world
        array = np.array([endpoint.rank + 1], dtype="<i8")
        return int(endpoint.allreduce(comm, array, lambda a, b: a + b, "SUM")[0])

    results, sent = _ranks_on_two_hosts(4, allreduce)
    assert results == [10] * 4
    assert sorted(kind.name for kind in sent) == ["BUNDLE", "COMPLETION"]


def _world_over_zmq():
    """Rank 0 here and rank 1 on another host, linked by real ZeroMQ peer channels (one process)."""
    from faabric.transport.zmq_peers import ZmqPeers

    home, other = WorldRegistry(ZmqPeers("127.0.0.1")), WorldRegistry(ZmqPeers("127.0.0.1"))
    world = home.create(5, 2, timeout=5.0)
    world.join(0)
    world.joined_remotely(1, other.network.address, "tcp://127.0.0.1:9")
    assert world.spans and world.inboxes[0] is not None
    return world, home, other


def _receive_in_background(endpoint: Endpoint, source: int, tag: int, capacity: int):
    """Start ``endpoint.recv`` on a thread; wait until it blocks. Returns (thread, box, outcome list)."""
    box = bytearray(capacity)
    outcome: list = []

    def receive() -> None:
        try:
            outcome.append(endpoint.recv(endpoint.world.comm_world, source, tag, capacity,
                                         lambda data: box.__setitem__(slice(0, len(data)), data), "MPI_Recv(source=1)"))
        except MpiError as error:
            outcome.append(error)

    thread = threading.Thread(target=receive)
    thread.start()
    deadline = time.monotonic() + 5
    while endpoint.world.waiting[endpoint.rank] is None and time.monotonic() < deadline:
        time.sleep(0.001)
    return thread, box, outcome


def test_a_receive_from_another_host_waits_on_the_inbox_directly_and_keeps_matching_rules():
    world, home, other = _world_over_zmq()
    try:
        endpoint = Endpoint(world, 0)
        thread, box, outcome = _receive_in_background(endpoint, 1, 4, 8)
        assert world.waiting[0] is not None
        assert world.mailboxes[0].posted == []  # the direct path posts no request (the general path would)
        inbox = world.inbox_addresses[0]
        other.network.send_message(inbox, world.id, 0, 0, 1, 3, 0, b"other tag")  # not this receive's
        other.network.send_message(inbox, world.id, 0, 7, 1, 4, 0, b"other comm")  # nor this
        other.network.send_message(inbox, world.id, 0, 0, 1, 4, 0, b"tag four")
        thread.join(5)
        assert outcome == [(1, 4, 8)] and bytes(box) == b"tag four"
        assert world.waiting[0] is None
        left = [(e.context, e.tag, bytes(e.data)) for e in world.mailboxes[0].unexpected]
        assert left == [(0, 3, b"other tag"), (7, 4, b"other comm")]  # in order, for later receives
        got = endpoint.recv(world.comm_world, 1, 3, 16, lambda data: None, "MPI_Recv")  # general path
        assert got == (1, 3, 9)
    finally:
        _close(world, home, other)


def test_a_direct_receive_reports_truncation_and_takes_large_messages_in_two_parts():
    world, home, other = _world_over_zmq()
    try:
        endpoint = Endpoint(world, 0)
        thread, _, outcome = _receive_in_background(endpoint, 1, -1, 4)
        other.network.send_message(world.inbox_addresses[0], world.id, 0, 0, 1, 2, 0, b"too long")
        thread.join(5)
        assert isinstance(outcome[0], MpiError) and outcome[0].error_name == "MPI_ERR_TRUNCATE"
        assert "8 bytes from rank 1 (tag 2)" in str(outcome[0])
        large = bytes(range(256)) * 256  # 64 KiB: the bytes travel as a second part
        thread, box, outcome = _receive_in_background(endpoint, 1, -1, len(large))
        other.network.send_message(world.inbox_addresses[0], world.id, 0, 0, 1, 5, 0, large)
        thread.join(5)
        assert outcome == [(1, 5, len(large))] and bytes(box) == large
    finally:
        _close(world, home, other)


def test_a_direct_receive_wakes_with_the_error_when_the_world_fails():
    world, home, other = _world_over_zmq()
    try:
        thread, _, outcome = _receive_in_background(Endpoint(world, 0), 1, 0, 8)
        world.abort(1, FaabricError("host B lost"), tell_others=False)
        thread.join(5)
        assert not thread.is_alive()
        assert isinstance(outcome[0], MpiError) and "host B lost" in str(outcome[0])
    finally:
        _close(world, home, other)


def _close(world, home, other) -> None:
    world.depart(0)  # closes rank 0's inbox: a ZeroMQ context ends only once its sockets are closed
    home.network.channel.close()
    other.network.channel.close()
