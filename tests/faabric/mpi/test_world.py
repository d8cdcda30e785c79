"""Worlds without wasm: ranks as threads exchanging bytes through Endpoints."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from faabric.exceptions import MpiDeadlockError, MpiError, MpiWorldFailedError
from faabric.mpi import ops
from faabric.mpi.errors import ErrorClass, fail
from faabric.mpi.endpoint import ANY_SOURCE, ANY_TAG, Endpoint
from faabric.mpi.world import World


def run_ranks(size: int, body, timeout: float = 5.0) -> list:
    """Run ``body(endpoint)`` on ``size`` threads; return each rank's result or exception."""
    world = World(1, size, timeout)
    results: list = [None] * size

    def rank_thread(rank: int) -> None:
        world.join(rank)
        try:
            results[rank] = body(Endpoint(world, rank))
        except Exception as error:  # noqa: BLE001 - collected for the assertions
            results[rank] = error
            world.abort(rank, error)
        finally:
            world.depart(rank)

    threads = [threading.Thread(target=rank_thread, args=(r,)) for r in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def receive(endpoint: Endpoint, source: int, tag: int, capacity: int = 64):
    box = bytearray(capacity)
    def deliver(data) -> None:
        box[: len(data)] = data

    request = endpoint.post_recv(endpoint.world.comm_world, source, tag, capacity, deliver)
    endpoint.wait(request, "test receive")
    return bytes(box[: request.nbytes]), request.source, request.tag


def test_messages_between_a_pair_arrive_in_order_and_match_by_tag():
    def body(endpoint):
        comm = endpoint.world.comm_world
        if endpoint.rank == 0:
            for tag in (1, 2, 1):
                endpoint.send(comm, 1, tag, f"m{tag}".encode())
            return None
        first = receive(endpoint, 0, 2)
        rest = [receive(endpoint, ANY_SOURCE, ANY_TAG) for _ in range(2)]
        return [first, *rest]

    _, received = run_ranks(2, body)
    assert received == [(b"m2", 0, 2), (b"m1", 0, 1), (b"m1", 0, 1)]


def test_a_too_small_receive_buffer_is_mpi_err_truncate():
    def body(endpoint):
        if endpoint.rank == 0:
            endpoint.send(endpoint.world.comm_world, 1, 0, b"x" * 100)
            return None
        return receive(endpoint, 0, 0, capacity=10)

    results = run_ranks(2, body)
    assert isinstance(results[1], MpiError)
    assert results[1].error_name == "MPI_ERR_TRUNCATE"


def test_ranks_waiting_on_each_other_are_a_deadlock():
    results = run_ranks(2, lambda endpoint: receive(endpoint, 1 - endpoint.rank, 0))
    assert all(isinstance(r, MpiDeadlockError) for r in results)
    assert "rank 0 waits in test receive" in results[0].detail


def test_a_failed_rank_wakes_the_waiting_ones():
    def body(endpoint):
        if endpoint.rank == 2:
            raise MpiError(15, "MPI_ERR_OTHER", "boom")
        return receive(endpoint, 2, 0)

    results = run_ranks(3, body)
    for rank in (0, 1):
        assert isinstance(results[rank], MpiWorldFailedError)
        assert results[rank].failed_rank == 2


def test_allreduce_and_alltoall_combine_every_rank():
    def body(endpoint):
        comm = endpoint.world.comm_world
        total = endpoint.allreduce(comm, np.array([endpoint.rank, 1]), np.add, "SUM")
        swapped = endpoint.alltoall(comm, [bytes([endpoint.rank, r]) for r in range(4)])
        return total.tolist(), swapped

    for rank, (total, swapped) in enumerate(run_ranks(4, body)):
        assert total == [6, 4]
        assert swapped == [bytes([r, rank]) for r in range(4)]


def test_a_lent_alltoall_returns_only_once_every_rank_took_its_chunks():
    events: list[str] = []

    def body(endpoint):
        comm, me = endpoint.world.comm_world, endpoint.rank
        send = bytearray(b"".join(bytes([me, r]) * 4 for r in range(3)))
        received = bytearray(24)

        def take(source, chunk):
            if me == 0:
                time.sleep(0.2)  # the first to arrive takes slowly: the others must wait for it before they return
            received[source * 8 : source * 8 + 8] = chunk
            events.append(f"{me} took from {source}")

        view = memoryview(send)
        endpoint.alltoall_here(comm, [view[r * 8 : r * 8 + 8] for r in range(3)], take)
        events.append(f"{me} returned")
        return bytes(received)

    results = run_ranks(3, body)
    for rank, received in enumerate(results):
        assert received == b"".join(bytes([source, rank]) * 4 for source in range(3))
    slowest_took = max(events.index(f"0 took from {source}") for source in range(3))
    assert all(events.index(f"{rank} returned") > slowest_took for rank in range(3)), events


def test_a_rank_that_fails_in_a_lent_alltoall_unwinds_only_once_nobody_reads_its_buffer():
    events: list[str] = []

    def body(endpoint):
        comm, me = endpoint.world.comm_world, endpoint.rank
        send = bytearray(bytes([me]) * 12)

        def take(source, chunk):
            if me == 1:
                raise fail(ErrorClass.ERR_COUNT, "this rank expected other chunks")
            if me == 0:
                time.sleep(0.1)  # a slow reader of the others' buffers
            events.append(f"{me} took from {source}")

        view = memoryview(send)
        try:
            endpoint.alltoall_here(comm, [view[0:4], view[4:8], view[8:12]], take)
        except MpiError:
            events.append(f"{me} unwound")
            raise
        return "done"

    results = run_ranks(3, body)  # (returns: nobody hangs)
    assert isinstance(results[1], MpiError)
    assert all(result == "done" or isinstance(result, MpiWorldFailedError) for result in (results[0], results[2]))
    assert events.index("1 unwound") > events.index("0 took from 1"), events


def test_a_duplicated_communicator_is_isolated_from_its_parent():
    def body(endpoint):
        world = endpoint.world.comm_world
        dup = endpoint.dup(world)
        assert dup.context != world.context
        if endpoint.rank == 0:
            endpoint.send(dup, 1, 0, b"on dup")
            endpoint.send(world, 1, 0, b"on world")
            return None
        return receive(endpoint, ANY_SOURCE, ANY_TAG)[0]

    assert run_ranks(2, body)[1] == b"on world"


def test_different_collectives_on_the_same_communicator_are_a_mismatch():
    def body(endpoint):
        comm = endpoint.world.comm_world
        if endpoint.rank == 0:
            return endpoint.barrier(comm)
        return endpoint.bcast(comm, 1, b"x", 1)

    results = run_ranks(2, body)
    assert any(isinstance(r, MpiError) and "mismatched collective" in r.detail for r in results)


@pytest.mark.parametrize("exclusive", [False, True])
def test_scan_gives_each_rank_its_prefix(exclusive):
    def body(endpoint):
        mine = np.array([endpoint.rank + 1])
        result = endpoint.scan(endpoint.world.comm_world, mine, ops.OPS["SUM"][1], "SUM", exclusive)
        return None if result is None else result.tolist()

    expected = [None, [1], [3]] if exclusive else [[1], [3], [6]]
    assert run_ranks(3, body) == expected
