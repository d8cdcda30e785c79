"""One rank's handle tables and guest-buffer access, kept in its call's ``scratch``.

Handles (communicators, groups, datatypes, ops, requests) are per rank, as
in any MPI: a handle is an int naming an entry of this rank's tables. Every
guest pointer goes through the granule's bounds-checked memory.
"""

from __future__ import annotations

import ctypes
import dataclasses
import itertools
import struct

import numpy as np

from faabric.mpi import datatypes as dt
from faabric.mpi import ops
from faabric.mpi.communicators import Communicator
from faabric.mpi.endpoint import ANY_SOURCE, ANY_TAG, PROC_NULL, Endpoint
from faabric.mpi.errors import ErrorClass, fail
from faabric.mpi.mailbox import Request
from faabric.mpi.world import World
from granules import raw
from granules.guest_memory import as_pointer
from mpi_shim import abi

_STATUS = struct.Struct("<5i")
STATE_KEY = "mpi"  # this area's entry in ActiveCall.scratch


@dataclasses.dataclass(frozen=True)
class OpSpec:
    """A reduction op: a predefined one by name, or a guest function (table index)."""

    name: str
    function: int = 0
    commute: bool = True

    @property
    def user(self) -> bool:
        return self.function != 0


PREDEFINED_OPS = {handle: OpSpec(name.removeprefix("MPI_")) for name, handle in abi.OP_HANDLES.items()}
PREDEFINED_TYPES = {abi.DATATYPE_HANDLES[name]: datatype for name, datatype in abi.PREDEFINED_TYPES}


def state_of(call) -> "RankState":
    """The calling rank's state; MPI_ERR_OTHER before MPI_Init or after MPI_Finalize."""
    state = call.scratch.get(STATE_KEY)
    if state is None:
        raise fail(ErrorClass.ERR_OTHER, "MPI is not initialised (call MPI_Init first)")
    if state.finalized:
        raise fail(ErrorClass.ERR_OTHER, "MPI has already been finalized")
    return state


class RankState:
    """Rank ``rank`` of ``world``, as seen by one running granule."""

    def __init__(self, call, world: World, rank: int, thread_level: int) -> None:
        self.granule = call.granule  # never the call itself: the call holds this state
        self.memory = call.memory
        self.world = world
        self.rank = rank
        self.thread_level = thread_level
        self.finalized = False
        self.endpoint = Endpoint(world, rank, call.context.host.pool.blocking)
        self.comms: dict[int, Communicator] = {
            abi.COMM_WORLD: world.comm_world,
            abi.COMM_SELF: Communicator(world.new_context(), (rank,)),
        }
        self.groups: dict[int, tuple[int, ...]] = {abi.GROUP_EMPTY: ()}
        self.types: dict[int, dt.Datatype] = dict(PREDEFINED_TYPES)
        self.ops: dict[int, OpSpec] = dict(PREDEFINED_OPS)
        self.requests: dict = {}  # handle -> Request, or a persistent request (mpi_shim.requests)
        self.errhandlers: dict[int, int] = {}  # communicator handle -> MPI_ERRORS_RETURN (else fatal)
        self.current_comm: int | None = None  # the communicator the running MPI call works on
        self._numbers = itertools.count(2)
        self._scratch_region = (0, 0)
        self.rings_offset = 0  # where the shared rings sit in this rank's memory (0: not mapped)

    # Handles ----------------------------------------------------------------

    def comm(self, handle: int) -> Communicator:
        comm = self.comms.get(handle)
        if comm is None:
            raise fail(ErrorClass.ERR_COMM, f"invalid communicator {handle:#x}")
        self.current_comm = handle
        return comm

    def add_comm(self, comm: Communicator | None) -> int:
        """A handle for a new communicator; it inherits the error handler of the one it was made from."""
        if comm is None:
            return abi.COMM_NULL
        handle = abi.COMM_BASE + next(self._numbers)
        self.comms[handle] = comm
        if self.current_comm in self.errhandlers:
            self.errhandlers[handle] = self.errhandlers[self.current_comm]
        return handle

    def returns_errors(self) -> bool:
        """Whether the running call's errors go back to the caller (``MPI_ERRORS_RETURN``) instead of ending the world.

        The call's communicator decides; calls without one (or with an invalid one) use ``MPI_COMM_WORLD``'s.
        """
        comm = self.current_comm if self.current_comm is not None else abi.COMM_WORLD
        return self.errhandlers.get(comm) == abi.ERRORS_RETURN

    def group(self, handle: int) -> tuple[int, ...]:
        group = self.groups.get(handle)
        if group is None:
            raise fail(ErrorClass.ERR_GROUP, f"invalid group {handle:#x}")
        return group

    def add_group(self, group: tuple[int, ...]) -> int:
        if not group:
            return abi.GROUP_EMPTY
        handle = abi.GROUP_BASE + next(self._numbers)
        self.groups[handle] = group
        return handle

    def datatype(self, handle: int, for_data: bool = True) -> dt.Datatype:
        """The datatype ``handle``; for communication it must be committed."""
        datatype = self.types.get(handle)
        if datatype is None:
            raise fail(ErrorClass.ERR_TYPE, f"invalid datatype {handle:#x}")
        if for_data and not datatype.committed:
            raise fail(ErrorClass.ERR_TYPE, f"datatype {datatype.name} is not committed (call MPI_Type_commit)")
        return datatype

    def add_datatype(self, datatype: dt.Datatype) -> int:
        handle = abi.DERIVED_BASE + next(self._numbers)
        self.types[handle] = datatype
        return handle

    def op(self, handle: int) -> OpSpec:
        spec = self.ops.get(handle)
        if spec is None:
            raise fail(ErrorClass.ERR_OP, f"invalid op {handle:#x}")
        return spec

    def add_request(self, request) -> int:
        handle = abi.REQUEST_NULL + next(self._numbers)
        self.requests[handle] = request
        return handle

    # Argument checks ----------------------------------------------------------

    @staticmethod
    def check_count(count: int, what: str = "count") -> None:
        if count < 0:
            raise fail(ErrorClass.ERR_COUNT, f"negative {what} {count}")

    @staticmethod
    def check_peer(comm: Communicator, rank: int, receiving: bool) -> None:
        if rank == PROC_NULL or (receiving and rank == ANY_SOURCE):
            return
        if not 0 <= rank < comm.size:
            raise fail(ErrorClass.ERR_RANK, f"rank {rank} is not in a communicator of size {comm.size}")

    @staticmethod
    def check_root(comm: Communicator, root: int) -> None:
        if not 0 <= root < comm.size:
            raise fail(ErrorClass.ERR_ROOT, f"root {root} is not in a communicator of size {comm.size}")

    @staticmethod
    def check_tag(tag: int, receiving: bool) -> None:
        if (receiving and tag == ANY_TAG) or 0 <= tag <= abi.TAG_UB:
            return
        raise fail(ErrorClass.ERR_TAG, f"invalid tag {tag}")

    def point_to_point(self, handle: int, datatype_handle: int, count: int, peer: int, tag: int, receiving: bool):
        """``(communicator, datatype)`` of a send or receive, its count, peer and tag checked: :meth:`comm`,
        :meth:`datatype` and the checks above in one call for the usual case (every send and receive comes here).

        Raises:
            MpiError: as those do.
        """
        comm, datatype = self.comms.get(handle), self.types.get(datatype_handle)
        if (
            comm is None or datatype is None or not datatype.committed or count < 0
            or not (0 <= peer < len(comm.group) and 0 <= tag <= abi.TAG_UB)
        ):  # something to report, or a wildcard or MPI_PROC_NULL: check one by one
            comm, datatype = self.comm(handle), self.datatype(datatype_handle)
            self.check_count(count)
            self.check_peer(comm, peer, receiving)
            self.check_tag(tag, receiving)
        self.current_comm = handle
        return comm, datatype

    def my_rank(self, comm: Communicator) -> int:
        return comm.rank_of[self.rank]

    # Guest buffers --------------------------------------------------------------

    def _region(self, pointer: int, count: int, datatype: dt.Datatype, what: str) -> int:
        """Check the bytes ``count`` elements at ``pointer`` touch; the base offset."""
        base = as_pointer(pointer)
        if count and datatype.size:
            first, length = datatype.span(count)
            self.memory.check(base + first, length, what)
        return base

    def _contiguous(self, pointer: int, count: int, datatype: dt.Datatype, what: str) -> tuple[int, int]:
        """``(base, end)`` of a contiguous buffer, checked as :meth:`_region` does (which runs only when the
        buffer is not plainly inside memory: every send and receive comes here)."""
        base = pointer & 0xFFFFFFFF
        end = base + count * datatype.size
        if count < 0 or (count and end > len(self.memory.view)):
            self._region(pointer, count, datatype, what)
        return base, end

    def data(self, pointer: int, count: int, datatype: dt.Datatype, what: str = "send buffer"):
        """The packed bytes of a buffer: a view into guest memory if contiguous (valid only during this call)."""
        if datatype.contiguous:
            base, end = self._contiguous(pointer, count, datatype, what)
            return self.memory.view[base:end]
        base = self._region(pointer, count, datatype, what)
        return dt.pack(self.memory.view, base, count, datatype)

    def copy(self, pointer: int, count: int, datatype: dt.Datatype, what: str = "send buffer") -> bytes:
        return bytes(self.data(pointer, count, datatype, what))

    def receiver(self, pointer: int, count: int, datatype: dt.Datatype, what: str = "receive buffer"):
        """``(capacity, deliver)`` for receiving into a buffer; ``deliver`` may run on the sender's thread."""
        capacity = count * datatype.size
        if datatype.contiguous:
            base, end = self._contiguous(pointer, count, datatype, what)
            target = self.memory.view[base:end]

            def deliver(data) -> None:
                target[: len(data)] = data

            return capacity, deliver
        base = self._region(pointer, count, datatype, what)
        view = self.memory.view
        return capacity, lambda data: dt.unpack(view, base, count, datatype, data)

    def write(self, pointer: int, count: int, datatype: dt.Datatype, data, what: str = "receive buffer") -> None:
        capacity, deliver = self.receiver(pointer, count, datatype, what)
        if len(data) > capacity:
            raise fail(ErrorClass.ERR_TRUNCATE, f"{len(data)} bytes do not fit the {what} of {capacity} bytes")
        deliver(data)

    def write_in_parallel(self, pointer: int, count: int, datatype: dt.Datatype, data,
                          what: str = "receive buffer") -> None:
        """:meth:`write`, copying a large contiguous buffer with the GIL released (other ranks copy meanwhile)."""
        source = _address_of(data) if datatype.contiguous and len(data) >= _PARALLEL_COPY_BYTES else None
        if source is None:
            return self.write(pointer, count, datatype, data, what)
        base, capacity = self._region(pointer, count, datatype, what), count * datatype.size
        if len(data) > capacity:
            raise fail(ErrorClass.ERR_TRUNCATE, f"{len(data)} bytes do not fit the {what} of {capacity} bytes")
        ctypes.memmove(self.memory.base + base, source, len(data))
        return None

    def ints(self, pointer: int, count: int, what: str = "int array") -> list[int]:
        self.check_count(count)
        return np.frombuffer(self.memory.read(pointer, 4 * count, what), dtype="<i4").tolist()

    def write_ints(self, pointer: int, values, what: str = "int array") -> None:
        self.memory.write(pointer, np.asarray(values, dtype="<i4").tobytes(), what)

    def write_int(self, pointer: int, value: int, what: str = "int output") -> None:
        self.memory.write_i32(pointer, value, what)

    def write_status(self, pointer: int, source: int, tag: int, nbytes: int, error: int = 0) -> None:
        if as_pointer(pointer) == abi.STATUS_IGNORE:
            return
        self.memory.write(pointer, _STATUS.pack(source, tag, error, nbytes, 0), "status")

    def status_of(self, pointer: int, request: Request | None) -> None:
        if request is None:  # an inactive request: the empty status
            self.write_status(pointer, ANY_SOURCE, ANY_TAG, 0)
        elif request.kind == "recv":
            self.write_status(pointer, request.source, request.tag, request.nbytes)
        else:
            self.write_status(pointer, ANY_SOURCE, ANY_TAG, 0)

    # Reductions -----------------------------------------------------------------

    def reduction(self, op_handle: int, datatype: dt.Datatype, count: int):
        """``(as_array, combine, key)`` for reducing ``count`` elements of ``datatype`` with an op."""
        spec = self.op(op_handle)
        if spec.user:
            return (lambda data: np.frombuffer(bytes(data), dtype=np.uint8)), self._user_combine(
                spec.function, datatype, count
            ), ("user", spec.function)
        ops.check(spec.name, datatype)
        element = datatype.element

        def combine(a, b):
            return ops.combine(spec.name, a, b)

        return (lambda data: np.frombuffer(bytes(data), dtype=element)), combine, spec.name

    def _user_combine(self, function: int, datatype: dt.Datatype, count: int):
        granule = self.granule
        if granule.proto.table_index is None:
            raise fail(ErrorClass.ERR_OP, "user ops need the module's __indirect_function_table export")
        table = raw.export_at(granule.ctx, granule.instance, granule.proto.table_index).of.table
        func = raw.table_func(granule.ctx, table, function)
        if func is None:
            raise fail(ErrorClass.ERR_OP, f"user op function {function} is not in the function table")
        handle = next((h for h, t in self.types.items() if t is datatype), abi.DATATYPE_NULL)
        first, length = datatype.span(count)

        def combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            region = self.scratch_memory(2 * length + 8)
            in_ptr, inout_ptr, args = region - first, region + length - first, region + 2 * length
            view = self.memory.view
            dt.unpack(view, in_ptr, count, datatype, a.tobytes())
            dt.unpack(view, inout_ptr, count, datatype, b.tobytes())
            view[args : args + 8] = struct.pack("<ii", count, handle)
            raw.call(granule.ctx, func, [in_ptr, inout_ptr, args, args + 4], None)
            return np.frombuffer(dt.pack(self.memory.view, inout_ptr, count, datatype), dtype=np.uint8)

        return combine

    def scratch_memory(self, nbytes: int) -> int:
        """An offset of ``nbytes`` of host-owned guest memory (grown once, reused)."""
        offset, size = self._scratch_region
        if size < nbytes:
            offset = self.memory.grow(nbytes)
            self._scratch_region = (offset, -(-nbytes // 65536) * 65536)
        return offset


_PARALLEL_COPY_BYTES = 64 << 10  # below this, releasing the GIL costs more than the copy


def _address_of(data) -> int | bytes | None:
    """What ``ctypes.memmove`` can read ``data`` from: the bytes themselves, or a writable view's address."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, memoryview) and not data.readonly and data.contiguous:
        return ctypes.addressof(ctypes.c_char.from_buffer(data))
    return None
