"""The ``MPI_*`` host functions: environment, communicators, groups, point-to-point.

Completing requests (``MPI_Wait*``, ``MPI_Test*``, persistent requests) is in
:mod:`mpi_shim.requests`, collectives in :mod:`mpi_shim.collectives`,
datatypes, ops and topologies in :mod:`mpi_shim.types`. A failing call raises
a typed :class:`~faabric.exceptions.MpiError` naming the function, the rank
and the MPI error class. By default errors are fatal (``MPI_ERRORS_ARE_FATAL``):
the rank traps and its whole world is aborted, so the other ranks stop at
their next MPI call (blocked ones wake at once). On a communicator set to
``MPI_ERRORS_RETURN``, the call's own errors return their error class instead.
"""

from __future__ import annotations

import logging
import time

from faabric.exceptions import FaabricError, MpiAbortError, MpiDeadlockError, MpiError, MpiWorldFailedError
from faabric.mpi import communicators as groups
from faabric.mpi.errors import ErrorClass, fail
from mpi_shim import abi
from mpi_shim.launch import init
from mpi_shim.state import STATE_KEY, RankState, state_of

log = logging.getLogger(__name__)
SUCCESS = 0
LIBRARY_VERSION = "faabric-py MPI 3.1 (wasm32; shared memory on one host, ZeroMQ between hosts)"


def define(host_functions, name: str, params: str, results: str, fn) -> None:
    """Define an MPI function whose failures name it and the rank.

    A failure aborts the world, unless the call's communicator has
    ``MPI_ERRORS_RETURN`` and the failure is the call's own (a bad argument, a
    truncated message): then the call returns the error class.
    """
    returns_code = results == "i"

    def mpi_function(call, *args):
        state = call.scratch.get(STATE_KEY)
        if state is not None:
            state.current_comm = None
        try:
            result = fn(call, *args)
            if state is None:  # (MPI_Init made it)
                state = call.scratch.get(STATE_KEY)
            if state is not None and state.rings_offset:
                state.world.settle(state.rank)  # the guest may receive by itself again
            return result
        except FaabricError as error:
            state = call.scratch.get(STATE_KEY)
            if isinstance(error, MpiError):
                _locate(error, name, state)
                if returns_code and _returned(error, state):
                    return error.error_class
            if state is not None:
                state.world.abort(state.rank, error)
            raise

    host_functions.define(name, params, results, mpi_function)


def _returned(error: MpiError, state: RankState | None) -> bool:
    """Whether ``error`` goes back to the guest as a code: only the call's own errors, under MPI_ERRORS_RETURN."""
    if state is None or state.finalized or isinstance(error, (MpiWorldFailedError, MpiDeadlockError, MpiAbortError)):
        return False
    return state.returns_errors()


def _locate(error: MpiError, function: str, state: RankState | None) -> None:
    if not error.function:
        error.function = function
    if state is not None:
        error.rank, error.world_id = state.rank, state.world.id
    where = f"{error.function} on rank {error.rank}" if error.rank >= 0 else error.function
    error.args = (f"{where} of world {error.world_id}: {error.error_name}: {error.detail}",)


# Environment --------------------------------------------------------------------


def mpi_init(call, _argc, _argv) -> int:
    init(call, abi.THREAD_SINGLE)
    return SUCCESS


def mpi_init_thread(call, _argc, _argv, required, provided_ptr) -> int:
    call.memory.check(provided_ptr, 4, "provided")
    state = init(call, max(abi.THREAD_SINGLE, min(required, abi.THREAD_FUNNELED)))
    state.write_int(provided_ptr, state.thread_level)
    return SUCCESS


def mpi_initialized(call, flag_ptr) -> int:
    call.memory.write_i32(flag_ptr, int(call.scratch.get(STATE_KEY) is not None), "flag")
    return SUCCESS


def mpi_finalize(call) -> int:
    state = state_of(call)
    state.finalized = True
    state.world.depart(state.rank)
    return SUCCESS


def mpi_finalized(call, flag_ptr) -> int:
    state = call.scratch.get(STATE_KEY)
    call.memory.write_i32(flag_ptr, int(state is not None and state.finalized), "flag")
    return SUCCESS


def mpi_abort(call, comm, error_code) -> int:
    state = state_of(call)
    state.comm(comm)
    raise MpiAbortError(error_code, "MPI_Abort", state.rank, state.world.id)


def mpi_query_thread(call, provided_ptr) -> int:
    state_of(call).write_int(provided_ptr, state_of(call).thread_level)
    return SUCCESS


def mpi_is_thread_main(call, flag_ptr) -> int:
    state_of(call).write_int(flag_ptr, 1)
    return SUCCESS


def mpi_get_version(call, version_ptr, subversion_ptr) -> int:
    call.memory.write_i32(version_ptr, abi.VERSION, "version")
    call.memory.write_i32(subversion_ptr, abi.SUBVERSION, "subversion")
    return SUCCESS


def _write_string(call, text: str, buffer_ptr: int, length_ptr: int, limit: int) -> None:
    data = text.encode()[: limit - 1]
    call.memory.write(buffer_ptr, data + b"\0", "string buffer")
    call.memory.write_i32(length_ptr, len(data), "string length")


def mpi_get_library_version(call, buffer_ptr, length_ptr) -> int:
    _write_string(call, LIBRARY_VERSION, buffer_ptr, length_ptr, abi.MAX_LIBRARY_VERSION_STRING)
    return SUCCESS


def mpi_get_processor_name(call, buffer_ptr, length_ptr) -> int:
    _write_string(call, call.context.host.id, buffer_ptr, length_ptr, abi.MAX_PROCESSOR_NAME)
    return SUCCESS


def _error_name(code: int) -> str:
    try:
        return ErrorClass(code).mpi_name
    except ValueError:
        raise fail(ErrorClass.ERR_ARG, f"unknown error code {code}") from None


def mpi_error_string(call, code, buffer_ptr, length_ptr) -> int:
    _write_string(call, _error_name(code), buffer_ptr, length_ptr, abi.MAX_ERROR_STRING)
    return SUCCESS


def mpi_error_class(call, code, class_ptr) -> int:
    _error_name(code)
    call.memory.write_i32(class_ptr, code, "error class")
    return SUCCESS


def mpi_wtime(_call) -> float:
    return time.perf_counter()


def mpi_wtick(_call) -> float:
    return time.get_clock_info("perf_counter").resolution


# Communicators and groups ----------------------------------------------------------


def mpi_comm_rank(call, comm, rank_ptr) -> int:
    state = state_of(call)
    state.write_int(rank_ptr, state.my_rank(state.comm(comm)), "rank")
    return SUCCESS


def mpi_comm_size(call, comm, size_ptr) -> int:
    state = state_of(call)
    state.write_int(size_ptr, state.comm(comm).size, "size")
    return SUCCESS


def mpi_comm_dup(call, comm, new_ptr) -> int:
    state = state_of(call)
    call.memory.check(new_ptr, 4, "new communicator")
    state.write_int(new_ptr, state.add_comm(state.endpoint.dup(state.comm(comm))))
    return SUCCESS


def mpi_comm_split(call, comm, color, key, new_ptr) -> int:
    state = state_of(call)
    call.memory.check(new_ptr, 4, "new communicator")
    state.write_int(new_ptr, state.add_comm(state.endpoint.split(state.comm(comm), color, key)))
    return SUCCESS


def mpi_comm_split_type(call, comm, split_type, key, _info, new_ptr) -> int:
    """Every rank of a world shares this host's memory: MPI_COMM_TYPE_SHARED keeps them all together."""
    if split_type not in (abi.COMM_TYPE_SHARED, abi.UNDEFINED):
        raise fail(ErrorClass.ERR_ARG, f"unknown split type {split_type}")
    return mpi_comm_split(call, comm, 0 if split_type == abi.COMM_TYPE_SHARED else abi.UNDEFINED, key, new_ptr)


def mpi_comm_create(call, comm, group, new_ptr) -> int:
    state = state_of(call)
    parent, members = state.comm(comm), state.group(group)
    call.memory.check(new_ptr, 4, "new communicator")
    outside = [m for m in members if m not in parent.rank_of]
    if outside:
        raise fail(ErrorClass.ERR_GROUP, f"the group has ranks {outside} (of MPI_COMM_WORLD) outside the communicator")
    state.write_int(new_ptr, state.add_comm(state.endpoint.create(parent, members)))
    return SUCCESS


def mpi_comm_group(call, comm, group_ptr) -> int:
    state = state_of(call)
    state.write_int(group_ptr, state.add_group(state.comm(comm).group), "group")
    return SUCCESS


def mpi_comm_compare(call, comm1, comm2, result_ptr) -> int:
    state = state_of(call)
    state.write_int(result_ptr, groups.compare_comms(state.comm(comm1), state.comm(comm2)), "result")
    return SUCCESS


def mpi_comm_free(call, comm_ptr) -> int:
    state = state_of(call)
    handle = call.memory.read_i32(comm_ptr, "communicator")
    state.comm(handle)
    if handle in (abi.COMM_WORLD, abi.COMM_SELF):
        raise fail(ErrorClass.ERR_COMM, "MPI_COMM_WORLD and MPI_COMM_SELF cannot be freed")
    del state.comms[handle]
    state.errhandlers.pop(handle, None)
    state.write_int(comm_ptr, abi.COMM_NULL)
    return SUCCESS


def mpi_comm_set_errhandler(call, comm, errhandler) -> int:
    state = state_of(call)
    state.comm(comm)
    if errhandler == abi.ERRORS_RETURN:
        state.errhandlers[comm] = errhandler
    elif errhandler == abi.ERRORS_ARE_FATAL:
        state.errhandlers.pop(comm, None)
    else:
        raise fail(ErrorClass.ERR_ARG, f"unknown error handler {errhandler:#x} (use MPI_ERRORS_ARE_FATAL or MPI_ERRORS_RETURN)")
    return SUCCESS


def mpi_comm_get_errhandler(call, comm, errhandler_ptr) -> int:
    state = state_of(call)
    state.comm(comm)
    state.write_int(errhandler_ptr, state.errhandlers.get(comm, abi.ERRORS_ARE_FATAL), "error handler")
    return SUCCESS


def mpi_comm_call_errhandler(call, comm, errorcode) -> int:
    """Invoke ``comm``'s error handler: end the world (fatal), or return ``errorcode``."""
    state = state_of(call)
    state.comm(comm)
    if state.errhandlers.get(comm) == abi.ERRORS_RETURN:
        return errorcode
    try:
        error_class = ErrorClass(errorcode)
    except ValueError:
        error_class = ErrorClass.ERR_OTHER
    raise fail(error_class, f"the program raised error {errorcode} on a communicator whose errors are fatal")


def mpi_errhandler_free(call, errhandler_ptr) -> int:
    call.memory.check(errhandler_ptr, 4, "error handler")
    state_of(call).write_int(errhandler_ptr, abi.ERRHANDLER_NULL, "error handler")
    return SUCCESS


def _group_from_ranks(call, group, n, ranks_ptr, new_ptr, build) -> int:
    state = state_of(call)
    members = state.group(group)
    ranks = state.ints(ranks_ptr, n, "ranks")
    state.write_int(new_ptr, state.add_group(build(members, ranks)), "new group")
    return SUCCESS


def mpi_group_incl(call, group, n, ranks_ptr, new_ptr) -> int:
    return _group_from_ranks(call, group, n, ranks_ptr, new_ptr, groups.group_incl)


def mpi_group_excl(call, group, n, ranks_ptr, new_ptr) -> int:
    return _group_from_ranks(call, group, n, ranks_ptr, new_ptr, groups.group_excl)


def mpi_group_size(call, group, size_ptr) -> int:
    state = state_of(call)
    state.write_int(size_ptr, len(state.group(group)), "size")
    return SUCCESS


def mpi_group_rank(call, group, rank_ptr) -> int:
    state = state_of(call)
    members = state.group(group)
    state.write_int(rank_ptr, members.index(state.rank) if state.rank in members else abi.UNDEFINED, "rank")
    return SUCCESS


def mpi_group_translate_ranks(call, group1, n, ranks_ptr, group2, out_ptr) -> int:
    state = state_of(call)
    first, second = state.group(group1), state.group(group2)
    state.write_ints(out_ptr, groups.translate_ranks(first, state.ints(ranks_ptr, n, "ranks"), second), "ranks2")
    return SUCCESS


def mpi_group_compare(call, group1, group2, result_ptr) -> int:
    state = state_of(call)
    state.write_int(result_ptr, groups.compare_groups(state.group(group1), state.group(group2)), "result")
    return SUCCESS


def _group_pair(build):
    def group_function(call, group1, group2, new_ptr) -> int:
        state = state_of(call)
        state.write_int(new_ptr, state.add_group(build(state.group(group1), state.group(group2))), "new group")
        return SUCCESS

    return group_function


def mpi_group_free(call, group_ptr) -> int:
    state = state_of(call)
    handle = call.memory.read_i32(group_ptr, "group")
    state.group(handle)
    if handle != abi.GROUP_EMPTY:
        del state.groups[handle]
    state.write_int(group_ptr, abi.GROUP_NULL)
    return SUCCESS


# Point to point ---------------------------------------------------------------------


def start_send(state: RankState, buf, count, datatype, dest, tag, comm, synchronous: bool):
    channel, kind = state.point_to_point(comm, datatype, count, dest, tag, False)
    return state.endpoint.send(channel, dest, tag, state.data(buf, count, kind), synchronous)


def _send(name: str, synchronous: bool):
    def send(call, buf, count, datatype, dest, tag, comm) -> int:
        state = state_of(call)
        request = start_send(state, buf, count, datatype, dest, tag, comm, synchronous)
        if not request.done:
            state.endpoint.wait(request, lambda: f"{name}(dest={dest}, tag={tag}) for a matching receive")
        return SUCCESS

    return send


def _isend(synchronous: bool):
    def isend(call, buf, count, datatype, dest, tag, comm, request_ptr) -> int:
        state = state_of(call)
        call.memory.check(request_ptr, 4, "request")
        request = start_send(state, buf, count, datatype, dest, tag, comm, synchronous)
        state.write_int(request_ptr, state.add_request(request), "request")
        return SUCCESS

    return isend


def receiving(state: RankState, buf, count, datatype, source, tag, comm):
    """``(communicator, capacity, deliver)`` of a receive into ``buf``, its arguments checked."""
    channel, kind = state.point_to_point(comm, datatype, count, source, tag, True)
    return (channel, *state.receiver(buf, count, kind))


def post_recv(state: RankState, buf, count, datatype, source, tag, comm):
    channel, capacity, deliver = receiving(state, buf, count, datatype, source, tag, comm)
    return state.endpoint.post_recv(channel, source, tag, capacity, deliver)


def mpi_recv(call, buf, count, datatype, source, tag, comm, status_ptr) -> int:
    state = state_of(call)
    channel, capacity, deliver = receiving(state, buf, count, datatype, source, tag, comm)
    got = state.endpoint.recv(channel, source, tag, capacity, deliver, lambda: f"MPI_Recv(source={source}, tag={tag})")
    state.write_status(status_ptr, *got)
    return SUCCESS


def mpi_irecv(call, buf, count, datatype, source, tag, comm, request_ptr) -> int:
    state = state_of(call)
    call.memory.check(request_ptr, 4, "request")
    request = post_recv(state, buf, count, datatype, source, tag, comm)
    state.write_int(request_ptr, state.add_request(request), "request")
    return SUCCESS


def _probe(call, source, tag, comm, block: bool):
    state = state_of(call)
    channel = state.comm(comm)
    state.check_peer(channel, source, receiving=True)
    state.check_tag(tag, receiving=True)
    return state, state.endpoint.probe(channel, source, tag, block)


def mpi_probe(call, source, tag, comm, status_ptr) -> int:
    state, found = _probe(call, source, tag, comm, True)
    state.write_status(status_ptr, *found)
    return SUCCESS


def mpi_iprobe(call, source, tag, comm, flag_ptr, status_ptr) -> int:
    state, found = _probe(call, source, tag, comm, False)
    state.write_int(flag_ptr, int(found is not None), "flag")
    if found is not None:
        state.write_status(status_ptr, *found)
    return SUCCESS


def mpi_get_count(call, status_ptr, datatype, count_ptr) -> int:
    state = state_of(call)
    kind = state.datatype(datatype, for_data=False)
    nbytes = call.memory.read_i32(status_ptr + 12, "status")
    if kind.size == 0:
        count = 0
    else:
        count = nbytes // kind.size if nbytes % kind.size == 0 else abi.UNDEFINED
    state.write_int(count_ptr, count, "count")
    return SUCCESS


def mpi_sendrecv(
    call, sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype, source, recvtag, comm, status_ptr
) -> int:
    state = state_of(call)
    channel, capacity, deliver = receiving(state, recvbuf, recvcount, recvtype, source, recvtag, comm)
    start_send(state, sendbuf, sendcount, sendtype, dest, sendtag, comm, False)  # (a standard send never blocks)
    got = state.endpoint.recv(channel, source, recvtag, capacity, deliver,
                              lambda: f"MPI_Sendrecv(dest={dest}, source={source}, recvtag={recvtag})")
    state.write_status(status_ptr, *got)
    return SUCCESS


def mpi_sendrecv_replace(call, buf, count, datatype, dest, sendtag, source, recvtag, comm, status_ptr) -> int:
    state = state_of(call)
    channel = state.comm(comm)
    kind = state.datatype(datatype)
    state.check_count(count)
    state.check_peer(channel, dest, receiving=False)
    state.check_tag(sendtag, receiving=False)
    outgoing = state.copy(buf, count, kind)
    receive = post_recv(state, buf, count, datatype, source, recvtag, comm)
    state.endpoint.send(channel, dest, sendtag, outgoing)
    state.endpoint.wait(receive, lambda: f"MPI_Sendrecv_replace(dest={dest}, source={source})")
    state.status_of(status_ptr, receive)
    return SUCCESS


FUNCTIONS = [
    ("MPI_Init", "ii", mpi_init),
    ("MPI_Init_thread", "iiii", mpi_init_thread),
    ("MPI_Initialized", "i", mpi_initialized),
    ("MPI_Finalize", "", mpi_finalize),
    ("MPI_Finalized", "i", mpi_finalized),
    ("MPI_Abort", "ii", mpi_abort),
    ("MPI_Query_thread", "i", mpi_query_thread),
    ("MPI_Is_thread_main", "i", mpi_is_thread_main),
    ("MPI_Get_version", "ii", mpi_get_version),
    ("MPI_Get_library_version", "ii", mpi_get_library_version),
    ("MPI_Get_processor_name", "ii", mpi_get_processor_name),
    ("MPI_Error_string", "iii", mpi_error_string),
    ("MPI_Error_class", "ii", mpi_error_class),
    ("MPI_Comm_rank", "ii", mpi_comm_rank),
    ("MPI_Comm_size", "ii", mpi_comm_size),
    ("MPI_Comm_dup", "ii", mpi_comm_dup),
    ("MPI_Comm_split", "iiii", mpi_comm_split),
    ("MPI_Comm_split_type", "iiiii", mpi_comm_split_type),
    ("MPI_Comm_create", "iii", mpi_comm_create),
    ("MPI_Comm_group", "ii", mpi_comm_group),
    ("MPI_Comm_compare", "iii", mpi_comm_compare),
    ("MPI_Comm_free", "i", mpi_comm_free),
    ("MPI_Comm_set_errhandler", "ii", mpi_comm_set_errhandler),
    ("MPI_Comm_get_errhandler", "ii", mpi_comm_get_errhandler),
    ("MPI_Comm_call_errhandler", "ii", mpi_comm_call_errhandler),
    ("MPI_Errhandler_set", "ii", mpi_comm_set_errhandler),
    ("MPI_Errhandler_get", "ii", mpi_comm_get_errhandler),
    ("MPI_Errhandler_free", "i", mpi_errhandler_free),
    ("MPI_Group_incl", "iiii", mpi_group_incl),
    ("MPI_Group_excl", "iiii", mpi_group_excl),
    ("MPI_Group_size", "ii", mpi_group_size),
    ("MPI_Group_rank", "ii", mpi_group_rank),
    ("MPI_Group_translate_ranks", "iiiii", mpi_group_translate_ranks),
    ("MPI_Group_compare", "iii", mpi_group_compare),
    ("MPI_Group_union", "iii", _group_pair(groups.group_union)),
    ("MPI_Group_intersection", "iii", _group_pair(groups.group_intersection)),
    ("MPI_Group_difference", "iii", _group_pair(groups.group_difference)),
    ("MPI_Group_free", "i", mpi_group_free),
    ("MPI_Send", "iiiiii", _send("MPI_Send", False)),
    ("MPI_Rsend", "iiiiii", _send("MPI_Rsend", False)),
    ("MPI_Ssend", "iiiiii", _send("MPI_Ssend", True)),
    ("MPI_Isend", "iiiiiii", _isend(False)),
    ("MPI_Irsend", "iiiiiii", _isend(False)),
    ("MPI_Issend", "iiiiiii", _isend(True)),
    ("MPI_Recv", "iiiiiii", mpi_recv),
    ("MPI_Irecv", "iiiiiii", mpi_irecv),
    ("MPI_Probe", "iiii", mpi_probe),
    ("MPI_Iprobe", "iiiii", mpi_iprobe),
    ("MPI_Get_count", "iii", mpi_get_count),
    ("MPI_Sendrecv", "iiiiiiiiiiii", mpi_sendrecv),
    ("MPI_Sendrecv_replace", "iiiiiiiii", mpi_sendrecv_replace),
]


def register(host_functions) -> None:
    """Define every MPI function (all return an int error code, i32 arguments)."""
    from mpi_shim import collectives, fastpath, requests, types

    for name, params, fn in FUNCTIONS + requests.FUNCTIONS + collectives.FUNCTIONS + types.FUNCTIONS + fastpath.FUNCTIONS:
        define(host_functions, name, params, "i", fn)
    host_functions.define("faabric_mpi_yield", "", "i", fastpath.faabric_mpi_yield)  # hot, and no MPI state
    define(host_functions, "MPI_Wtime", "", "F", mpi_wtime)
    define(host_functions, "MPI_Wtick", "", "F", mpi_wtick)
