"""Collective ``MPI_*`` host functions: read the guest's buffers, meet in the
world's slot (:class:`faabric.mpi.endpoint.Endpoint`), write the results.

Arguments that MPI calls significant only at the root (the root's receive
buffer of a gather, the send buffer of a scatter...) are only read there.
"""

from __future__ import annotations

from faabric.mpi.errors import ErrorClass, fail
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


def mpi_barrier(call, comm) -> int:
    state = state_of(call)
    state.endpoint.barrier(state.comm(comm))
    return SUCCESS


def mpi_bcast(call, buffer, count, datatype, root, comm) -> int:
    state = state_of(call)
    channel, kind = state.comm(comm), state.datatype(datatype)
    state.check_count(count)
    state.check_root(channel, root)
    nbytes = count * kind.size
    if state.my_rank(channel) == root:
        state.endpoint.bcast(channel, root, state.copy(buffer, count, kind), nbytes)
    else:
        state.write(buffer, count, kind, state.endpoint.bcast(channel, root, None, nbytes))
    return SUCCESS


def _reduction_input(state: RankState, sendbuf, recvbuf, count, datatype, op):
    kind = state.datatype(datatype)
    state.check_count(count)
    as_array, combine, key = state.reduction(op, kind, count)
    source = recvbuf if _in_place(sendbuf) else sendbuf
    return kind, as_array(state.data(source, count, kind)), combine, key


def mpi_reduce(call, sendbuf, recvbuf, count, datatype, op, root, comm) -> int:
    state = state_of(call)
    channel = state.comm(comm)
    state.check_root(channel, root)
    kind, array, combine, key = _reduction_input(state, sendbuf, recvbuf, count, datatype, op)
    result = state.endpoint.reduce(channel, root, array, combine, key)
    if result is not None:
        state.write(recvbuf, count, kind, result.tobytes())
    return SUCCESS


def mpi_allreduce(call, sendbuf, recvbuf, count, datatype, op, comm) -> int:
    state = state_of(call)
    channel = state.comm(comm)
    kind, array, combine, key = _reduction_input(state, sendbuf, recvbuf, count, datatype, op)
    state.write(recvbuf, count, kind, state.endpoint.allreduce(channel, array, combine, key).tobytes())
    return SUCCESS


def _scan(exclusive: bool):
    def scan(call, sendbuf, recvbuf, count, datatype, op, comm) -> int:
        state = state_of(call)
        channel = state.comm(comm)
        kind, array, combine, key = _reduction_input(state, sendbuf, recvbuf, count, datatype, op)
        result = state.endpoint.scan(channel, array, combine, key, exclusive)
        if result is not None:
            state.write(recvbuf, count, kind, result.tobytes())
        return SUCCESS

    return scan


def _reduce_scatter(state: RankState, sendbuf, recvbuf, counts: list[int], datatype, op, comm, name: str) -> None:
    channel = state.comm(comm)
    if len(counts) != channel.size:
        raise fail(ErrorClass.ERR_COUNT, f"{len(counts)} receive counts for {channel.size} ranks")
    for count in counts:
        state.check_count(count, "receive count")
    total = sum(counts)
    kind, array, combine, key = _reduction_input(state, sendbuf, recvbuf, total, datatype, op)
    mine = state.endpoint.reduce_scatter(channel, array, counts, combine, key, name)
    state.write(recvbuf, counts[state.my_rank(channel)], kind, mine.tobytes())


def mpi_reduce_scatter(call, sendbuf, recvbuf, counts_ptr, datatype, op, comm) -> int:
    state = state_of(call)
    counts = state.ints(counts_ptr, state.comm(comm).size, "receive counts")
    _reduce_scatter(state, sendbuf, recvbuf, counts, datatype, op, comm, "MPI_Reduce_scatter")
    return SUCCESS


def mpi_reduce_scatter_block(call, sendbuf, recvbuf, count, datatype, op, comm) -> int:
    state = state_of(call)
    counts = [count] * state.comm(comm).size
    _reduce_scatter(state, sendbuf, recvbuf, counts, datatype, op, comm, "MPI_Reduce_scatter_block")
    return SUCCESS


def _counts_and_displacements(state: RankState, size: int, counts_ptr, displs_ptr) -> list[tuple[int, int]]:
    counts = state.ints(counts_ptr, size, "counts")
    displs = state.ints(displs_ptr, size, "displacements")
    for count in counts:
        state.check_count(count)
    return list(zip(counts, displs))


def _regular(count: int, size: int) -> list[tuple[int, int]]:
    return [(count, rank * count) for rank in range(size)]


def _gather(call, sendbuf, sendcount, sendtype, recvbuf, layout_of, recvtype, root, comm, name: str) -> int:
    """Gather and Gatherv: ``layout_of(state, size)`` gives (count, displacement) per rank, at the root only."""
    state = state_of(call)
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
    gathered = state.endpoint.gather(channel, root, data, name)
    if gathered is not None:
        for rank, chunk in enumerate(gathered):
            count, displacement = layout[rank]
            _expect(name, len(chunk), count * receive_type.size, rank)
            if not (rank == me and _in_place(sendbuf)):
                state.write(_at(recvbuf, displacement, receive_type), count, receive_type, chunk)
    return SUCCESS


def mpi_gather(call, sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm) -> int:
    def layout(state, size):
        state.check_count(recvcount)
        return _regular(recvcount, size)

    return _gather(call, sendbuf, sendcount, sendtype, recvbuf, layout, recvtype, root, comm, "MPI_Gather")


def mpi_gatherv(call, sendbuf, sendcount, sendtype, recvbuf, counts_ptr, displs_ptr, recvtype, root, comm) -> int:
    def layout(state, size):
        return _counts_and_displacements(state, size, counts_ptr, displs_ptr)

    return _gather(call, sendbuf, sendcount, sendtype, recvbuf, layout, recvtype, root, comm, "MPI_Gatherv")


def _allgather(call, sendbuf, sendcount, sendtype, recvbuf, layout, recvtype, comm, name: str) -> int:
    state = state_of(call)
    channel = state.comm(comm)
    me = state.my_rank(channel)
    receive_type = state.datatype(recvtype)
    if _in_place(sendbuf):
        count, displacement = layout[me]
        data = state.copy(_at(recvbuf, displacement, receive_type), count, receive_type)
    else:
        state.check_count(sendcount)
        data = state.copy(sendbuf, sendcount, state.datatype(sendtype))
    for rank, chunk in enumerate(state.endpoint.allgather(channel, data, name)):
        count, displacement = layout[rank]
        _expect(name, len(chunk), count * receive_type.size, rank)
        state.write(_at(recvbuf, displacement, receive_type), count, receive_type, chunk)
    return SUCCESS


def mpi_allgather(call, sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm) -> int:
    state = state_of(call)
    state.check_count(recvcount)
    layout = _regular(recvcount, state.comm(comm).size)
    return _allgather(call, sendbuf, sendcount, sendtype, recvbuf, layout, recvtype, comm, "MPI_Allgather")


def mpi_allgatherv(call, sendbuf, sendcount, sendtype, recvbuf, counts_ptr, displs_ptr, recvtype, comm) -> int:
    state = state_of(call)
    layout = _counts_and_displacements(state, state.comm(comm).size, counts_ptr, displs_ptr)
    return _allgather(call, sendbuf, sendcount, sendtype, recvbuf, layout, recvtype, comm, "MPI_Allgatherv")


def _scatter(call, sendbuf, layout_of, sendtype, recvbuf, recvcount, recvtype, root, comm, name: str) -> int:
    state = state_of(call)
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
    chunk = state.endpoint.scatter(channel, root, chunks, name)
    if me == root and _in_place(recvbuf):
        return SUCCESS
    state.check_count(recvcount)
    receive_type = state.datatype(recvtype)
    _expect(name, len(chunk), recvcount * receive_type.size, root)
    state.write(recvbuf, recvcount, receive_type, chunk)
    return SUCCESS


def mpi_scatter(call, sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm) -> int:
    def layout(state, size):
        state.check_count(sendcount)
        return _regular(sendcount, size)

    return _scatter(call, sendbuf, layout, sendtype, recvbuf, recvcount, recvtype, root, comm, "MPI_Scatter")


def mpi_scatterv(call, sendbuf, counts_ptr, displs_ptr, sendtype, recvbuf, recvcount, recvtype, root, comm) -> int:
    def layout(state, size):
        return _counts_and_displacements(state, size, counts_ptr, displs_ptr)

    return _scatter(call, sendbuf, layout, sendtype, recvbuf, recvcount, recvtype, root, comm, "MPI_Scatterv")


def _alltoall(state: RankState, sendbuf, send_layout, sendtype, recvbuf, recv_layout, recvtype, comm, name) -> int:
    channel = state.comm(comm)
    receive_type = state.datatype(recvtype)
    if _in_place(sendbuf):
        sendbuf, send_layout, send_type = recvbuf, recv_layout, receive_type
    else:
        send_type = state.datatype(sendtype)
    chunks = [state.copy(_at(sendbuf, d, send_type), c, send_type) for c, d in send_layout]
    for rank, chunk in enumerate(state.endpoint.alltoall(channel, chunks, name)):
        count, displacement = recv_layout[rank]
        _expect(name, len(chunk), count * receive_type.size, rank)
        state.write(_at(recvbuf, displacement, receive_type), count, receive_type, chunk)
    return SUCCESS


def mpi_alltoall(call, sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm) -> int:
    state = state_of(call)
    size = state.comm(comm).size
    state.check_count(recvcount)
    if not _in_place(sendbuf):
        state.check_count(sendcount)
    return _alltoall(
        state, sendbuf, _regular(sendcount, size), sendtype,
        recvbuf, _regular(recvcount, size), recvtype, comm, "MPI_Alltoall",
    )


def mpi_alltoallv(call, sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm) -> int:
    state = state_of(call)
    size = state.comm(comm).size
    receive = _counts_and_displacements(state, size, recvcounts, rdispls)
    send = receive if _in_place(sendbuf) else _counts_and_displacements(state, size, sendcounts, sdispls)
    return _alltoall(state, sendbuf, send, sendtype, recvbuf, receive, recvtype, comm, "MPI_Alltoallv")


FUNCTIONS = [
    ("MPI_Barrier", "i", mpi_barrier),
    ("MPI_Bcast", "iiiii", mpi_bcast),
    ("MPI_Reduce", "iiiiiii", mpi_reduce),
    ("MPI_Allreduce", "iiiiii", mpi_allreduce),
    ("MPI_Scan", "iiiiii", _scan(False)),
    ("MPI_Exscan", "iiiiii", _scan(True)),
    ("MPI_Reduce_scatter", "iiiiii", mpi_reduce_scatter),
    ("MPI_Reduce_scatter_block", "iiiiii", mpi_reduce_scatter_block),
    ("MPI_Gather", "iiiiiiii", mpi_gather),
    ("MPI_Gatherv", "iiiiiiiii", mpi_gatherv),
    ("MPI_Allgather", "iiiiiii", mpi_allgather),
    ("MPI_Allgatherv", "iiiiiiii", mpi_allgatherv),
    ("MPI_Scatter", "iiiiiiii", mpi_scatter),
    ("MPI_Scatterv", "iiiiiiiii", mpi_scatterv),
    ("MPI_Alltoall", "iiiiiii", mpi_alltoall),
    ("MPI_Alltoallv", "iiiiiiiii", mpi_alltoallv),
]
