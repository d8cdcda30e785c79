"""Completing requests: ``MPI_Wait*``, ``MPI_Test*``, ``MPI_Request_free`` and
persistent requests (``MPI_Send_init``, ``MPI_Recv_init``, ``MPI_Start``...).

A handle names either a one-shot request, freed when it completes, or a
:class:`Persistent` one, which goes back to inactive and can be started again.
"""

from __future__ import annotations

import dataclasses

from faabric.mpi.errors import ErrorClass, fail
from faabric.mpi.mailbox import CollectiveRequest, Request
from granules.guest_memory import as_pointer
from mpi_shim import abi
from mpi_shim.host import post_recv, start_send
from mpi_shim.state import RankState, state_of

SUCCESS = 0


@dataclasses.dataclass
class Persistent:
    """A persistent request: its arguments, and the operation started from them (None: inactive)."""

    kind: str  # "send", "ssend" or "recv"
    arguments: tuple
    active: Request | None = None


def _request(state: RankState, handle: int):
    """The operation behind ``handle``; None for MPI_REQUEST_NULL or an inactive persistent request."""
    if handle == abi.REQUEST_NULL:
        return None
    request = state.requests.get(handle)
    if request is None:
        raise fail(ErrorClass.ERR_REQUEST, f"invalid request {handle:#x}")
    if isinstance(request, Persistent):
        return request.active
    return request


def _describe(request) -> str:
    if isinstance(request, CollectiveRequest):
        return f"MPI_Wait for {request.what}"
    if request.kind == "recv":
        return f"MPI_Wait for a receive (source={request.want_source}, tag={request.want_tag})"
    return "MPI_Wait for a synchronous send to be received"


def _finish(state: RankState, requests_ptr: int, index: int, handle: int, status_ptr: int) -> None:
    """Complete request ``index`` of an array: check its error, write its status, free it
    (a persistent request becomes inactive instead)."""
    entry = state.requests[handle]
    if isinstance(entry, Persistent):
        request, entry.active = entry.active, None
    else:
        request = state.requests.pop(handle)
        state.write_int(requests_ptr + 4 * index, abi.REQUEST_NULL, "request")
    if request.error is not None:
        raise request.error
    if isinstance(request, CollectiveRequest):
        request.complete()  # the results go into the receive buffers now
    state.status_of(status_ptr, request)


def _status_at(statuses_ptr: int, index: int) -> int:
    return statuses_ptr if as_pointer(statuses_ptr) == abi.STATUSES_IGNORE else statuses_ptr + abi.STATUS_SIZE * index


def mpi_wait(call, request_ptr, status_ptr) -> int:
    return mpi_waitall(call, 1, request_ptr, status_ptr)


def mpi_waitall(call, count, requests_ptr, statuses_ptr) -> int:
    state = state_of(call)
    handles = state.ints(requests_ptr, count, "requests")
    for index, handle in enumerate(handles):
        request = _request(state, handle)
        if request is None:
            state.status_of(_status_at(statuses_ptr, index), None)
            continue
        if not request.done:
            state.endpoint.wait_for(lambda: request.done, lambda: _describe(request))
        _finish(state, requests_ptr, index, handle, _status_at(statuses_ptr, index))
    return SUCCESS


def _active(state: RankState, requests_ptr: int, count: int) -> list[tuple[int, int, object]]:
    handles = state.ints(requests_ptr, count, "requests")
    return [(i, h, r) for i, h in enumerate(handles) if (r := _request(state, h)) is not None]


def mpi_waitany(call, count, requests_ptr, index_ptr, status_ptr) -> int:
    state = state_of(call)
    call.memory.check(index_ptr, 4, "index")
    active = _active(state, requests_ptr, count)
    if not active:
        state.write_int(index_ptr, abi.UNDEFINED)
        state.status_of(status_ptr, None)
        return SUCCESS
    state.endpoint.wait_for(lambda: any(r.done for _, _, r in active), "MPI_Waitany")
    index, handle, _ = next(item for item in active if item[2].done)
    _finish(state, requests_ptr, index, handle, status_ptr)
    state.write_int(index_ptr, index)
    return SUCCESS


def mpi_waitsome(call, count, requests_ptr, outcount_ptr, indices_ptr, statuses_ptr) -> int:
    state = state_of(call)
    active = _active(state, requests_ptr, count)
    if not active:
        state.write_int(outcount_ptr, abi.UNDEFINED, "outcount")
        return SUCCESS
    state.endpoint.wait_for(lambda: any(r.done for _, _, r in active), "MPI_Waitsome")
    return _complete_done(state, active, requests_ptr, outcount_ptr, indices_ptr, statuses_ptr)


def _complete_done(state, active, requests_ptr, outcount_ptr, indices_ptr, statuses_ptr) -> int:
    done = [(i, h) for i, h, r in active if r.done]
    for position, (index, handle) in enumerate(done):
        _finish(state, requests_ptr, index, handle, _status_at(statuses_ptr, position))
    state.write_int(outcount_ptr, len(done), "outcount")
    state.write_ints(indices_ptr, [i for i, _ in done], "indices")
    return SUCCESS


def _check_failure(state: RankState) -> None:
    """Take in messages from other hosts (a test must see them), then fail if the world has."""
    state.world.progress(state.rank)
    if state.world.failure is not None:
        raise state.world.failure_for(state.rank)


def mpi_test(call, request_ptr, flag_ptr, status_ptr) -> int:
    return mpi_testall(call, 1, request_ptr, flag_ptr, status_ptr)


def mpi_testall(call, count, requests_ptr, flag_ptr, statuses_ptr) -> int:
    state = state_of(call)
    _check_failure(state)
    active = _active(state, requests_ptr, count)
    ready = all(r.done for _, _, r in active)
    if ready:
        for index, handle, _ in active:
            _finish(state, requests_ptr, index, handle, _status_at(statuses_ptr, index))
        if not active and count:
            state.status_of(_status_at(statuses_ptr, 0), None)
    state.write_int(flag_ptr, int(ready), "flag")
    return SUCCESS


def mpi_testany(call, count, requests_ptr, index_ptr, flag_ptr, status_ptr) -> int:
    state = state_of(call)
    _check_failure(state)
    active = _active(state, requests_ptr, count)
    if not active:
        state.write_int(index_ptr, abi.UNDEFINED, "index")
        state.write_int(flag_ptr, 1, "flag")
        state.status_of(status_ptr, None)
        return SUCCESS
    done = next((item for item in active if item[2].done), None)
    if done is not None:
        _finish(state, requests_ptr, done[0], done[1], status_ptr)
    state.write_int(index_ptr, done[0] if done else abi.UNDEFINED, "index")
    state.write_int(flag_ptr, int(done is not None), "flag")
    return SUCCESS


def mpi_request_free(call, request_ptr) -> int:
    state = state_of(call)
    handle = call.memory.read_i32(request_ptr, "request")
    if handle not in state.requests:
        raise fail(ErrorClass.ERR_REQUEST, f"cannot free request {handle:#x}")
    if isinstance(state.requests[handle], CollectiveRequest):
        raise fail(ErrorClass.ERR_REQUEST, "a nonblocking collective's request cannot be freed: wait for it")
    del state.requests[handle]  # a posted receive stays posted and still fills its buffer
    state.write_int(request_ptr, abi.REQUEST_NULL, "request")
    return SUCCESS


def _init(kind: str):
    def request_init(call, buf, count, datatype, peer, tag, comm, request_ptr) -> int:
        state = state_of(call)
        call.memory.check(request_ptr, 4, "request")
        state.comm(comm)
        state.datatype(datatype)
        state.check_count(count)
        state.write_int(request_ptr, state.add_request(Persistent(kind, (buf, count, datatype, peer, tag, comm))))
        return SUCCESS

    return request_init


def _start(state: RankState, handle: int) -> None:
    entry = state.requests.get(handle)
    if not isinstance(entry, Persistent):
        raise fail(ErrorClass.ERR_REQUEST, f"request {handle:#x} is not a persistent request")
    if entry.active is not None:
        raise fail(ErrorClass.ERR_REQUEST, f"persistent request {handle:#x} is already active")
    if entry.kind == "recv":
        entry.active = post_recv(state, *entry.arguments)
    else:
        entry.active = start_send(state, *entry.arguments, entry.kind == "ssend")


def mpi_start(call, request_ptr) -> int:
    state = state_of(call)
    _start(state, call.memory.read_i32(request_ptr, "request"))
    return SUCCESS


def mpi_startall(call, count, requests_ptr) -> int:
    state = state_of(call)
    for handle in state.ints(requests_ptr, count, "requests"):
        _start(state, handle)
    return SUCCESS


FUNCTIONS = [
    ("MPI_Wait", "ii", mpi_wait),
    ("MPI_Waitall", "iii", mpi_waitall),
    ("MPI_Waitany", "iiii", mpi_waitany),
    ("MPI_Waitsome", "iiiii", mpi_waitsome),
    ("MPI_Test", "iii", mpi_test),
    ("MPI_Testall", "iiii", mpi_testall),
    ("MPI_Testany", "iiiii", mpi_testany),
    ("MPI_Request_free", "i", mpi_request_free),
    ("MPI_Send_init", "iiiiiii", _init("send")),
    ("MPI_Ssend_init", "iiiiiii", _init("ssend")),
    ("MPI_Rsend_init", "iiiiiii", _init("send")),
    ("MPI_Recv_init", "iiiiiii", _init("recv")),
    ("MPI_Start", "i", mpi_start),
    ("MPI_Startall", "ii", mpi_startall),
]
