"""``MPI_*`` host functions for datatypes, reduction ops and Cartesian topologies."""

from __future__ import annotations

import dataclasses

from faabric.mpi import datatypes as dt
from faabric.mpi.errors import ErrorClass, fail
from faabric.mpi.topology import CartTopology, dims_create
from granules.guest_memory import as_pointer
from mpi_shim import abi
from mpi_shim.state import OpSpec, state_of

SUCCESS = 0


# Datatypes -------------------------------------------------------------------------


def _new_type(call, new_ptr, build) -> int:
    state = state_of(call)
    call.memory.check(new_ptr, 4, "new datatype")
    state.write_int(new_ptr, state.add_datatype(build(state)), "new datatype")
    return SUCCESS


def mpi_type_size(call, datatype, size_ptr) -> int:
    state = state_of(call)
    state.write_int(size_ptr, state.datatype(datatype, for_data=False).size, "size")
    return SUCCESS


def mpi_type_contiguous(call, count, old, new_ptr) -> int:
    return _new_type(call, new_ptr, lambda s: dt.contiguous(count, s.datatype(old, for_data=False)))


def mpi_type_vector(call, count, blocklength, stride, old, new_ptr) -> int:
    return _new_type(call, new_ptr, lambda s: dt.vector(count, blocklength, stride, s.datatype(old, for_data=False)))


def mpi_type_create_hvector(call, count, blocklength, stride, old, new_ptr) -> int:
    return _new_type(call, new_ptr, lambda s: dt.hvector(count, blocklength, stride, s.datatype(old, for_data=False)))


def mpi_type_indexed(call, count, blocklengths_ptr, displs_ptr, old, new_ptr) -> int:
    def build(state):
        lengths = state.ints(blocklengths_ptr, count, "block lengths")
        displacements = state.ints(displs_ptr, count, "displacements")
        return dt.indexed(lengths, displacements, state.datatype(old, for_data=False))

    return _new_type(call, new_ptr, build)


def mpi_type_create_hindexed(call, count, blocklengths_ptr, displs_ptr, old, new_ptr) -> int:
    def build(state):
        lengths = state.ints(blocklengths_ptr, count, "block lengths")
        displacements = state.ints(displs_ptr, count, "displacements")  # MPI_Aint: 32 bits
        return dt.create_struct(lengths, displacements, [state.datatype(old, for_data=False)] * count, "hindexed")

    return _new_type(call, new_ptr, build)


def mpi_type_create_indexed_block(call, count, blocklength, displs_ptr, old, new_ptr) -> int:
    def build(state):
        displacements = state.ints(displs_ptr, count, "displacements")
        return dt.indexed([blocklength] * count, displacements, state.datatype(old, for_data=False))

    return _new_type(call, new_ptr, build)


def mpi_type_dup(call, old, new_ptr) -> int:
    return _new_type(call, new_ptr, lambda s: dataclasses.replace(s.datatype(old, for_data=False), predefined=False))


def mpi_type_create_struct(call, count, blocklengths_ptr, displs_ptr, types_ptr, new_ptr) -> int:
    def build(state):
        lengths = state.ints(blocklengths_ptr, count, "block lengths")
        displacements = state.ints(displs_ptr, count, "displacements")  # MPI_Aint is 32 bits on wasm32
        types = [state.datatype(h, for_data=False) for h in state.ints(types_ptr, count, "types")]
        return dt.create_struct(lengths, displacements, types)

    return _new_type(call, new_ptr, build)


def mpi_type_create_resized(call, old, lb, extent, new_ptr) -> int:
    return _new_type(call, new_ptr, lambda s: dt.resized(s.datatype(old, for_data=False), lb, extent))


def mpi_type_commit(call, datatype_ptr) -> int:
    state = state_of(call)
    handle = call.memory.read_i32(datatype_ptr, "datatype")
    datatype = state.datatype(handle, for_data=False)
    if not datatype.committed:
        state.types[handle] = dataclasses.replace(datatype, committed=True)
    return SUCCESS


def mpi_type_free(call, datatype_ptr) -> int:
    state = state_of(call)
    handle = call.memory.read_i32(datatype_ptr, "datatype")
    if state.datatype(handle, for_data=False).predefined:
        raise fail(ErrorClass.ERR_TYPE, "predefined datatypes cannot be freed")
    del state.types[handle]
    state.write_int(datatype_ptr, abi.DATATYPE_NULL)
    return SUCCESS


def mpi_type_get_extent(call, datatype, lb_ptr, extent_ptr) -> int:
    state = state_of(call)
    kind = state.datatype(datatype, for_data=False)
    state.write_int(lb_ptr, kind.lb, "lb")
    state.write_int(extent_ptr, kind.extent, "extent")
    return SUCCESS


def mpi_type_get_true_extent(call, datatype, lb_ptr, extent_ptr) -> int:
    state = state_of(call)
    low, high = state.datatype(datatype, for_data=False).true_span
    state.write_int(lb_ptr, low, "true lb")
    state.write_int(extent_ptr, high - low, "true extent")
    return SUCCESS


def mpi_get_address(call, location, address_ptr) -> int:
    call.memory.write_u32(address_ptr, as_pointer(location), "address")
    return SUCCESS


def mpi_pack_size(call, count, datatype, comm, size_ptr) -> int:
    state = state_of(call)
    state.comm(comm)
    state.check_count(count)
    state.write_int(size_ptr, count * state.datatype(datatype, for_data=False).size, "size")
    return SUCCESS


def mpi_pack(call, inbuf, count, datatype, outbuf, outsize, position_ptr, comm) -> int:
    """Append ``count`` elements to a packed buffer (our packed form is the typemap's bytes, in order)."""
    state = state_of(call)
    state.comm(comm)
    state.check_count(count)
    data = state.copy(inbuf, count, state.datatype(datatype), "input buffer")
    position = call.memory.read_i32(position_ptr, "position")
    if position < 0 or position + len(data) > outsize:
        detail = f"{len(data)} bytes at position {position} overflow the {outsize}-byte buffer"
        raise fail(ErrorClass.ERR_TRUNCATE, detail)
    call.memory.write(as_pointer(outbuf) + position, data, "packed buffer")
    state.write_int(position_ptr, position + len(data), "position")
    return SUCCESS


def mpi_unpack(call, inbuf, insize, position_ptr, outbuf, count, datatype, comm) -> int:
    state = state_of(call)
    state.comm(comm)
    state.check_count(count)
    kind = state.datatype(datatype)
    position = call.memory.read_i32(position_ptr, "position")
    nbytes = count * kind.size
    if position < 0 or position + nbytes > insize:
        raise fail(ErrorClass.ERR_TRUNCATE, f"{nbytes} bytes at position {position} run past the {insize}-byte buffer")
    state.write(outbuf, count, kind, call.memory.read(as_pointer(inbuf) + position, nbytes, "packed buffer"))
    state.write_int(position_ptr, position + nbytes, "position")
    return SUCCESS


# Ops -------------------------------------------------------------------------------


def mpi_op_create(call, function, commute, op_ptr) -> int:
    state = state_of(call)
    call.memory.check(op_ptr, 4, "op")
    if function == 0:
        raise fail(ErrorClass.ERR_ARG, "the user function is NULL")
    handle = abi.USER_OP_BASE + len([h for h in state.ops if h >= abi.USER_OP_BASE]) + 1
    while handle in state.ops:
        handle += 1
    state.ops[handle] = OpSpec("user", function, bool(commute))
    state.write_int(op_ptr, handle, "op")
    return SUCCESS


def mpi_op_free(call, op_ptr) -> int:
    state = state_of(call)
    handle = call.memory.read_i32(op_ptr, "op")
    if not state.op(handle).user:
        raise fail(ErrorClass.ERR_OP, "predefined ops cannot be freed")
    del state.ops[handle]
    state.write_int(op_ptr, abi.OP_NULL)
    return SUCCESS


# Cartesian topologies ----------------------------------------------------------------


def _topology(state, comm) -> CartTopology:
    topology = state.comm(comm).topology
    if topology is None:
        raise fail(ErrorClass.ERR_TOPOLOGY, "the communicator has no Cartesian topology")
    return topology


def mpi_cart_create(call, comm, ndims, dims_ptr, periods_ptr, _reorder, new_ptr) -> int:
    state = state_of(call)
    parent = state.comm(comm)
    if ndims < 0:
        raise fail(ErrorClass.ERR_DIMS, f"negative number of dimensions {ndims}")
    dims = state.ints(dims_ptr, ndims, "dims")
    periods = [bool(p) for p in state.ints(periods_ptr, ndims, "periods")]
    if any(d <= 0 for d in dims):
        raise fail(ErrorClass.ERR_DIMS, f"dimensions {dims} must all be positive")
    topology = CartTopology(tuple(dims), tuple(periods))
    if topology.size > parent.size:
        detail = f"a {dims} grid needs {topology.size} ranks, the communicator has {parent.size}"
        raise fail(ErrorClass.ERR_TOPOLOGY, detail)
    call.memory.check(new_ptr, 4, "new communicator")
    made = state.endpoint.create(parent, parent.group[: topology.size], "MPI_Cart_create", topology)
    state.write_int(new_ptr, state.add_comm(made))
    return SUCCESS


def mpi_cart_get(call, comm, maxdims, dims_ptr, periods_ptr, coords_ptr) -> int:
    state = state_of(call)
    topology = _topology(state, comm)
    n = min(maxdims, len(topology.dims))
    state.write_ints(dims_ptr, topology.dims[:n], "dims")
    state.write_ints(periods_ptr, [int(p) for p in topology.periods[:n]], "periods")
    state.write_ints(coords_ptr, topology.coords(state.my_rank(state.comm(comm)))[:n], "coords")
    return SUCCESS


def mpi_cart_rank(call, comm, coords_ptr, rank_ptr) -> int:
    state = state_of(call)
    topology = _topology(state, comm)
    state.write_int(rank_ptr, topology.rank(state.ints(coords_ptr, len(topology.dims), "coords")), "rank")
    return SUCCESS


def mpi_cart_coords(call, comm, rank, maxdims, coords_ptr) -> int:
    state = state_of(call)
    topology = _topology(state, comm)
    state.write_ints(coords_ptr, topology.coords(rank)[:maxdims], "coords")
    return SUCCESS


def mpi_cart_shift(call, comm, direction, displacement, source_ptr, dest_ptr) -> int:
    state = state_of(call)
    topology = _topology(state, comm)
    source, dest = topology.shift(state.my_rank(state.comm(comm)), direction, displacement)
    state.write_int(source_ptr, source, "source")
    state.write_int(dest_ptr, dest, "dest")
    return SUCCESS


def mpi_cart_sub(call, comm, remain_ptr, new_ptr) -> int:
    state = state_of(call)
    parent = state.comm(comm)
    topology = _topology(state, comm)
    remain = [bool(r) for r in state.ints(remain_ptr, len(topology.dims), "remain_dims")]
    call.memory.check(new_ptr, 4, "new communicator")
    color, key = topology.sub_color(state.my_rank(parent), remain)
    made = state.endpoint.split(parent, color, key)
    made.topology = topology.sub(remain)
    state.write_int(new_ptr, state.add_comm(made))
    return SUCCESS


def mpi_cartdim_get(call, comm, ndims_ptr) -> int:
    state = state_of(call)
    state.write_int(ndims_ptr, len(_topology(state, comm).dims), "ndims")
    return SUCCESS


def mpi_dims_create(call, nnodes, ndims, dims_ptr) -> int:
    memory = call.memory
    if ndims < 0:
        raise fail(ErrorClass.ERR_DIMS, f"negative number of dimensions {ndims}")
    current = [memory.read_i32(dims_ptr + 4 * i, "dims") for i in range(ndims)]
    for index, value in enumerate(dims_create(nnodes, current)):
        memory.write_i32(dims_ptr + 4 * index, value, "dims")
    return SUCCESS


def mpi_topo_test(call, comm, status_ptr) -> int:
    state = state_of(call)
    has_cart = state.comm(comm).topology is not None
    state.write_int(status_ptr, abi.CART if has_cart else abi.UNDEFINED, "status")
    return SUCCESS


FUNCTIONS = [
    ("MPI_Type_size", "ii", mpi_type_size),
    ("MPI_Type_contiguous", "iii", mpi_type_contiguous),
    ("MPI_Type_vector", "iiiii", mpi_type_vector),
    ("MPI_Type_create_hvector", "iiiii", mpi_type_create_hvector),
    ("MPI_Type_indexed", "iiiii", mpi_type_indexed),
    ("MPI_Type_create_struct", "iiiii", mpi_type_create_struct),
    ("MPI_Type_create_hindexed", "iiiii", mpi_type_create_hindexed),
    ("MPI_Type_create_indexed_block", "iiiii", mpi_type_create_indexed_block),
    ("MPI_Type_dup", "ii", mpi_type_dup),
    ("MPI_Pack", "iiiiiii", mpi_pack),
    ("MPI_Unpack", "iiiiiii", mpi_unpack),
    ("MPI_Pack_size", "iiii", mpi_pack_size),
    ("MPI_Type_create_resized", "iiii", mpi_type_create_resized),
    ("MPI_Type_commit", "i", mpi_type_commit),
    ("MPI_Type_free", "i", mpi_type_free),
    ("MPI_Type_get_extent", "iii", mpi_type_get_extent),
    ("MPI_Type_get_true_extent", "iii", mpi_type_get_true_extent),
    ("MPI_Get_address", "ii", mpi_get_address),
    ("MPI_Op_create", "iii", mpi_op_create),
    ("MPI_Op_free", "i", mpi_op_free),
    ("MPI_Cart_create", "iiiiii", mpi_cart_create),
    ("MPI_Cart_get", "iiiii", mpi_cart_get),
    ("MPI_Cart_rank", "iii", mpi_cart_rank),
    ("MPI_Cart_coords", "iiii", mpi_cart_coords),
    ("MPI_Cart_shift", "iiiii", mpi_cart_shift),
    ("MPI_Cart_sub", "iii", mpi_cart_sub),
    ("MPI_Cartdim_get", "ii", mpi_cartdim_get),
    ("MPI_Dims_create", "iii", mpi_dims_create),
    ("MPI_Topo_test", "ii", mpi_topo_test),
]
