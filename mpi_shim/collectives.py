"""Collective ``MPI_*`` host functions: read the guest's buffers, meet in the
world's slot (:class:`faabric.mpi.endpoint.Endpoint`), write the results.

Each collective is written once, as steps that start it and then write its
results; the blocking call runs both at once, and the nonblocking one
(``MPI_Ibcast``...) returns a request whose ``MPI_Wait``/``MPI_Test`` runs the
second step. A nonblocking collective never matches a blocking one.

Arguments that MPI calls significant only at the root (the root's receive
buffer of a gather, the send buffer of a scatter...) are only read there.
"""

from __future__ import annotations

import inspect

from faabric.mpi.endpoint import Pending
from faabric.mpi.errors import ErrorClass, fail
from faabric.mpi.mailbox import CollectiveRequest
from granules.guest_memory import as_pointer
from mpi_shim import abi
from mpi_shim.state import RankState, state_of

SUCCESS = 0


def _in_place(pointer: int) -> bool:
    return as_pointer(pointer) == abi.IN_PLACE


def _at(pointer: int, elements: int, datatype) -> int:
    """The address ``elements`` elements of ``datatype`` past ``pointer``."""
    return as_pointer(pointer) + elements * datatype.extent


def _expect(name: str, got: int, expected: int, source: int) -> None:
    if got != expected:
        error = ErrorClass.ERR_TRUNCATE if got > expected else ErrorClass.ERR_COUNT
        detail = f"mismatched collective {name}: rank {source} sent {got} bytes but this rank expects {expected}"
        raise fail(error, detail)


def _blocking(steps_of, name: str):
    """The blocking MPI call: start the collective, wait for it, write its results."""

    def blocking(call, *args) -> int:
        state = state_of(call)
        steps = steps_of(state, *args, name=name)
        _resume(steps, state.endpoint.complete(next(steps)))
        return SUCCESS

    blocking.__signature__ = _signature(steps_of)
    return blocking


def _nonblocking(steps_of, name: str):
    """``MPI_I...``: start the collective; ``MPI_Wait``/``MPI_Test`` complete it and write its results."""

    def nonblocking(call, *args) -> int:
        *args, request_ptr = args
        state = state_of(call)
        call.memory.check(request_ptr, 4, "request")
        steps = steps_of(state, *args, name=name)
        pending = next(steps)
        request = CollectiveRequest(pending.ready, lambda: _resume(steps, pending.finish()), pending.what)
        state.write_int(request_ptr, state.add_request(request), "request")
        return SUCCESS

    nonblocking.__signature__ = _signature(steps_of, "request_ptr")
    return nonblocking


def _signature(steps_of, *extra: str) -> inspect.Signature:
    """The MPI call's own arguments (the steps' minus ``state`` and ``name``), as the host function takes them."""
    arguments = list(inspect.signature(steps_of).parameters)[1:-1] + list(extra)
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature([inspect.Parameter(n, positional) for n in ["call", *arguments]])


def _resume(steps, result) -> None:
    """Hand a collective's result to its steps, which write it into the guest's buffers."""
    try:
        steps.send(result)
    except StopIteration:
        return
    raise RuntimeError("a collective's steps yield exactly once")


# Each collective is a generator: it reads its arguments, yields the started
# collective, and is resumed with the result to write it (at once, or in MPI_Wait).


def _barrier(state: RankState, comm, name: str):
    yield state.endpoint.start_barrier(state.comm(comm), name)


def _bcast(state: RankState, buffer, count, datatype, root, comm, name: str):
    channel, kind = state.comm(comm), state.datatype(datatype)
    state.check_count(count)
    state.check_root(channel, root)
    nbytes = count * kind.size
    if state.my_rank(channel) == root:
        yield state.endpoint.start_bcast(channel, root, state.copy(buffer, count, kind), nbytes, name)
    else:
        received = yield state.endpoint.start_bcast(channel, root, None, nbytes, name)
        state.write(buffer, count, kind, received)


def _reduction_input(state: RankState, sendbuf, recvbuf, count, datatype, op):
    kind = state.datatype(datatype)
    state.check_count(count)
    as_array, combine, key = state.reduction(op, kind, count)
    source = recvbuf if _in_place(sendbuf) else sendbuf
    return kind, as_array(state.data(source, count, kind)), combine, key


def _reduce(state: RankState, sendbuf, recvbuf, count, datatype, op, root, comm, name: str):
    channel = state.comm(comm)
    state.check_root(channel, root)
    kind, array, combine, key = _reduction_input(state, sendbuf, recvbuf, count, datatype, op)
    result = yield state.endpoint.start_reduce(channel, root, array, combine, key, name)
    if result is not None:
        state.write(recvbuf, count, kind, result.tobytes())


def _allreduce(state: RankState, sendbuf, recvbuf, count, datatype, op, comm, name: str):
    channel = state.comm(comm)
    kind, array, combine, key = _reduction_input(state, sendbuf, recvbuf, count, datatype, op)
    result = yield state.endpoint.start_allreduce(channel, array, combine, key, name)
    state.write(recvbuf, count, kind, result.tobytes())


def _prefix(state: RankState, sendbuf, recvbuf, count, datatype, op, comm, name: str, exclusive: bool):
    channel = state.comm(comm)
    kind, array, combine, key = _reduction_input(state, sendbuf, recvbuf, count, datatype, op)
    result = yield state.endpoint.start_scan(channel, array, combine, key, exclusive, name)
    if result is not None:
        state.write(recvbuf, count, kind, result.tobytes())


def _scan(state: RankState, sendbuf, recvbuf, count, datatype, op, comm, name: str):
    yield from _prefix(state, sendbuf, recvbuf, count, datatype, op, comm, name, exclusive=False)


def _exscan(state: RankState, sendbuf, recvbuf, count, datatype, op, comm, name: str):
    yield from _prefix(state, sendbuf, recvbuf, count, datatype, op, comm, name, exclusive=True)


def _reduce_scatter_counts(state: RankState, sendbuf, recvbuf, counts: list[int], datatype, op, comm, name: str):
    channel = state.comm(comm)
    if len(counts) != channel.size:
        raise fail(ErrorClass.ERR_COUNT, f"{len(counts)} receive counts for {channel.size} ranks")
    for count in counts:
        state.check_count(count, "receive count")
    total = sum(counts)
    kind, array, combine, key = _reduction_input(state, sendbuf, recvbuf, total, datatype, op)
    mine = yield state.endpoint.start_reduce_scatter(channel, array, counts, combine, key, name)
    state.write(recvbuf, counts[state.my_rank(channel)], kind, mine.tobytes())


def _reduce_scatter(state: RankState, sendbuf, recvbuf, counts_ptr, datatype, op, comm, name: str):
    counts = state.ints(counts_ptr, state.comm(comm).size, "receive counts")
    yield from _reduce_scatter_counts(state, sendbuf, recvbuf, counts, datatype, op, comm, name)


def _reduce_scatter_block(state: RankState, sendbuf, recvbuf, count, datatype, op, comm, name: str):
    counts = [count] * state.comm(comm).size
    yield from _reduce_scatter_counts(state, sendbuf, recvbuf, counts, datatype, op, comm, name)


def _counts_and_displacements(state: RankState, size: int, counts_ptr, displs_ptr) -> list[tuple[int, int]]:
    counts = state.ints(counts_ptr, size, "counts")
    displs = state.ints(displs_ptr, size, "displacements")
    for count in counts:
        state.check_count(count)
    return list(zip(counts, displs))


def _regular(count: int, size: int) -> list[tuple[int, int]]:
    return [(count, rank * count) for rank in range(size)]


def _regular_layout(count: int):
    """``layout_of(state, size)`` for ``count`` elements per rank, read only where it is needed (the root)."""
    def layout_of(state: RankState, size: int) -> list[tuple[int, int]]:
        state.check_count(count)
        return _regular(count, size)

    return layout_of


def _vector_layout(counts_ptr: int, displs_ptr: int):
    """``layout_of(state, size)`` for the v-variants' counts and displacements arrays."""
    def layout_of(state: RankState, size: int) -> list[tuple[int, int]]:
        return _counts_and_displacements(state, size, counts_ptr, displs_ptr)

    return layout_of


def _gather_into(state: RankState, sendbuf, sendcount, sendtype, recvbuf, layout_of, recvtype, root, comm, name: str):
    """Gather and Gatherv: ``layout_of(state, size)`` gives (count, displacement) per rank, at the root only."""
    channel = state.comm(comm)
    state.check_root(channel, root)
    me = state.my_rank(channel)
    is_root = me == root
    layout = receive_type = None
    if is_root:
        receive_type = state.datatype(recvtype)
        layout = layout_of(state, channel.size)
    if is_root and _in_place(sendbuf):
        count, displacement = layout[me]
        data = state.copy(_at(recvbuf, displacement, receive_type), count, receive_type)
    else:
        state.check_count(sendcount)
        data = state.copy(sendbuf, sendcount, state.datatype(sendtype))
    gathered = yield state.endpoint.start_gather(channel, root, data, name)
    if gathered is not None:
        for rank, chunk in enumerate(gathered):
            count, displacement = layout[rank]
            _expect(name, len(chunk), count * receive_type.size, rank)
            if not (rank == me and _in_place(sendbuf)):
                state.write(_at(recvbuf, displacement, receive_type), count, receive_type, chunk)


def _gather(state: RankState, sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm, name: str):
    layout = _regular_layout(recvcount)
    yield from _gather_into(state, sendbuf, sendcount, sendtype, recvbuf, layout, recvtype, root, comm, name)


def _gatherv(state: RankState, sendbuf, sendcount, sendtype, recvbuf, counts_ptr, displs_ptr, recvtype, root, comm,
             name: str):
    layout = _vector_layout(counts_ptr, displs_ptr)
    yield from _gather_into(state, sendbuf, sendcount, sendtype, recvbuf, layout, recvtype, root, comm, name)


def _allgather_into(state: RankState, sendbuf, sendcount, sendtype, recvbuf, layout, recvtype, comm, name: str):
    channel = state.comm(comm)
    me = state.my_rank(channel)
    receive_type = state.datatype(recvtype)
    if _in_place(sendbuf):
        count, displacement = layout[me]
        data = state.copy(_at(recvbuf, displacement, receive_type), count, receive_type)
    else:
        state.check_count(sendcount)
        data = state.copy(sendbuf, sendcount, state.datatype(sendtype))
    gathered = yield state.endpoint.start_allgather(channel, data, name)
    for rank, chunk in enumerate(gathered):
        count, displacement = layout[rank]
        _expect(name, len(chunk), count * receive_type.size, rank)
        state.write(_at(recvbuf, displacement, receive_type), count, receive_type, chunk)


def _allgather(state: RankState, sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm, name: str):
    state.check_count(recvcount)
    layout = _regular(recvcount, state.comm(comm).size)
    yield from _allgather_into(state, sendbuf, sendcount, sendtype, recvbuf, layout, recvtype, comm, name)


def _allgatherv(state: RankState, sendbuf, sendcount, sendtype, recvbuf, counts_ptr, displs_ptr, recvtype, comm,
                name: str):
    layout = _counts_and_displacements(state, state.comm(comm).size, counts_ptr, displs_ptr)
    yield from _allgather_into(state, sendbuf, sendcount, sendtype, recvbuf, layout, recvtype, comm, name)


def _scatter_from(state: RankState, sendbuf, layout_of, sendtype, recvbuf, recvcount, recvtype, root, comm, name: str):
    channel = state.comm(comm)
    state.check_root(channel, root)
    me = state.my_rank(channel)
    chunks = None
    if me == root:
        send_type = state.datatype(sendtype)
        chunks = [
            state.copy(_at(sendbuf, displacement, send_type), count, send_type)
            for count, displacement in layout_of(state, channel.size)
        ]
    chunk = yield state.endpoint.start_scatter(channel, root, chunks, name)
    if me == root and _in_place(recvbuf):
        return
    state.check_count(recvcount)
    receive_type = state.datatype(recvtype)
    _expect(name, len(chunk), recvcount * receive_type.size, root)
    state.write(recvbuf, recvcount, receive_type, chunk)


def _scatter(state: RankState, sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm, name: str):
    layout = _regular_layout(sendcount)
    yield from _scatter_from(state, sendbuf, layout, sendtype, recvbuf, recvcount, recvtype, root, comm, name)


def _scatterv(state: RankState, sendbuf, counts_ptr, displs_ptr, sendtype, recvbuf, recvcount, recvtype, root, comm,
              name: str):
    layout = _vector_layout(counts_ptr, displs_ptr)
    yield from _scatter_from(state, sendbuf, layout, sendtype, recvbuf, recvcount, recvtype, root, comm, name)


def _alltoall_with(state: RankState, sendbuf, send_layout, sendtype, recvbuf, recv_layout, recvtype, comm, name):
    channel = state.comm(comm)
    receive_type = state.datatype(recvtype)
    in_place = _in_place(sendbuf)
    if in_place:
        sendbuf, send_layout, send_type = recvbuf, recv_layout, receive_type
    else:
        send_type = state.datatype(sendtype)

    def take(rank: int, chunk) -> None:
        count, displacement = recv_layout[rank]
        _expect(name, len(chunk), count * receive_type.size, rank)
        state.write_in_parallel(_at(recvbuf, displacement, receive_type), count, receive_type, chunk)

    if name in _BLOCKING_ALLTOALLS and state.endpoint.all_here(channel):
        # Every rank runs here: the others read this rank's large chunks in place (unless the send buffer
        # is also the receive buffer), and the call then returns only once they all have
        # (Endpoint.alltoall_here). Small chunks are copied: waiting for the others would cost more.
        lend = not in_place and send_type.contiguous
        chunks = [(state.data if lend and c * send_type.size >= LEND_BYTES else state.copy)(
            _at(sendbuf, d, send_type), c, send_type) for c, d in send_layout]
        state.endpoint.alltoall_here(channel, chunks, take, name)
        yield Pending.done(None, name)
        return
    chunks = [state.copy(_at(sendbuf, d, send_type), c, send_type) for c, d in send_layout]
    received = yield state.endpoint.start_alltoall(channel, chunks, name)
    for rank, chunk in enumerate(received):
        take(rank, chunk)


_BLOCKING_ALLTOALLS = frozenset({"MPI_Alltoall", "MPI_Alltoallv"})
LEND_BYTES = 64 << 10  # chunks this big are read in place by the ranks they go to


def _alltoall(state: RankState, sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm, name: str):
    size = state.comm(comm).size
    state.check_count(recvcount)
    if not _in_place(sendbuf):
        state.check_count(sendcount)
    send, receive = _regular(sendcount, size), _regular(recvcount, size)
    yield from _alltoall_with(state, sendbuf, send, sendtype, recvbuf, receive, recvtype, comm, name)


def _alltoallv(state: RankState, sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm,
               name: str):
    size = state.comm(comm).size
    receive = _counts_and_displacements(state, size, recvcounts, rdispls)
    send = receive if _in_place(sendbuf) else _counts_and_displacements(state, size, sendcounts, sdispls)
    yield from _alltoall_with(state, sendbuf, send, sendtype, recvbuf, receive, recvtype, comm, name)


_STEPS = {
    "Scan": ("iiiiii", _scan),
    "Exscan": ("iiiiii", _exscan),
    "Reduce_scatter": ("iiiiii", _reduce_scatter),
    "Reduce_scatter_block": ("iiiiii", _reduce_scatter_block),
    "Barrier": ("i", _barrier),
    "Bcast": ("iiiii", _bcast),
    "Reduce": ("iiiiiii", _reduce),
    "Allreduce": ("iiiiii", _allreduce),
    "Gather": ("iiiiiiii", _gather),
    "Gatherv": ("iiiiiiiii", _gatherv),
    "Allgather": ("iiiiiii", _allgather),
    "Allgatherv": ("iiiiiiii", _allgatherv),
    "Scatter": ("iiiiiiii", _scatter),
    "Scatterv": ("iiiiiiiii", _scatterv),
    "Alltoall": ("iiiiiii", _alltoall),
    "Alltoallv": ("iiiiiiiii", _alltoallv),
}

FUNCTIONS = [
    *((f"MPI_{name}", params, _blocking(steps, f"MPI_{name}")) for name, (params, steps) in _STEPS.items()),
    *((f"MPI_I{name.lower()}", params + "i", _nonblocking(steps, f"MPI_I{name.lower()}"))
      for name, (params, steps) in _STEPS.items()),
]
