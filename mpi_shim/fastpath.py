"""The host side of the guest's fast path: mapping a world's shared rings into a rank, and wake-ups.

The guest runtime (``mpi_shim/guest/mpi_runtime.c``) asks for the rings
right after ``MPI_Init``; see :mod:`faabric.mpi.rings` for what they hold.
"""

from __future__ import annotations

import logging

from faabric.exceptions import GuestMemoryError
from mpi_shim import abi
from mpi_shim.state import state_of

log = logging.getLogger(__name__)
SUCCESS = 0
OPENMP_FORK = "__kmpc_fork_call"

# What the guest may copy by itself: each predefined datatype's size, if its bytes are contiguous.
TYPE_SIZES = bytes(datatype.size if datatype.contiguous else 0 for _, datatype in abi.PREDEFINED_TYPES)


def _uses_openmp(granule) -> bool:
    """OpenMP threads move the rank's memory onto a file of their own, which would hide the rings."""
    return any(item.name == OPENMP_FORK for item in granule.proto.module.imports)


def faabric_mpi_rings(call) -> int:
    """Map the world's rings into the calling rank's memory; their address there, or 0 for the host path only."""
    state = state_of(call)
    if state.rings_offset:
        return state.rings_offset
    rings, world = state.world.rings, state.world
    if rings is None or not world.mapped or sum(world.local) < 2 or _uses_openmp(call.granule):
        return 0  # no rings, nobody here to share them with, or OpenMP threads about
    try:
        offset = call.memory.grow(rings.guest_bytes())
    except GuestMemoryError as error:
        log.info("rank %d of world %d sends through the host only: %s", state.rank, world.id, error)
        return 0
    rings.set_type_sizes(TYPE_SIZES)
    rings.map_into(call.memory.base + offset, state.rank)
    state.rings_offset = offset
    return offset


def faabric_mpi_comm(call, handle, out_ptr, capacity) -> int:
    """Describe communicator ``handle`` for the guest's fast path at ``out_ptr``: its context, the
    caller's rank in it, its size, then each member's world rank. -1 (write nothing) if it is not
    a valid communicator, or does not fit in ``capacity`` ints: the guest leaves it to the host."""
    state = state_of(call)
    comm = state.comms.get(handle)
    if comm is None or 3 + comm.size > capacity:
        return -1
    state.write_ints(out_ptr, [comm.context, comm.rank_of[state.rank], comm.size, *comm.group], "communicator")
    return SUCCESS


def faabric_mpi_wake(call, rank) -> int:
    """A guest sender filled the ring of ``rank``, which sleeps in the host."""
    world = state_of(call).world
    if 0 <= rank < world.size:
        world.wake_rank(rank)
    return SUCCESS


FUNCTIONS = [
    ("faabric_mpi_rings", "", faabric_mpi_rings),
    ("faabric_mpi_comm", "iii", faabric_mpi_comm),
    ("faabric_mpi_wake", "i", faabric_mpi_wake),
]
