"""The host side of the guest's fast path: mapping a world's shared rings into a rank, describing
communicators, wake-ups, and the steps of guest-run collectives the rings cannot carry.

The guest runtime (``mpi_shim/guest/mpi_runtime.c``) asks for the rings
right after ``MPI_Init``; see :mod:`faabric.mpi.rings` for what they hold.
"""

from __future__ import annotations

import logging
import os

from faabric.exceptions import GuestMemoryError, MpiError
from faabric.mpi.communicators import Communicator
from faabric.mpi.errors import ErrorClass, fail
from mpi_shim import abi
from mpi_shim.state import RankState, state_of

log = logging.getLogger(__name__)
SUCCESS = 0
OPENMP_FORKS = frozenset({"__kmpc_fork_call", "__faabric_omp_fork_call"})  # (the second: faabric cc -fopenmp)

# The collectives the guest runs among ranks of one host. Their messages' tags are signatures:
# the collective (low 4 bits), the op handle less OP_BASE (next 4), the datatype's index (next 8).
GUEST_COLLECTIVES = {1: "MPI_Barrier", 2: "MPI_Allreduce"}
OP_NAMES = {handle - abi.OP_BASE: name for name, handle in abi.OP_HANDLES.items()}
TYPE_NAMES = [name for name, _ in abi.PREDEFINED_TYPES]
BYTE = abi.PREDEFINED_TYPES[3][1]  # MPI_BYTE

# What the guest may copy by itself: each predefined datatype's size, if its bytes are contiguous.
TYPE_SIZES = bytes(datatype.size if datatype.contiguous else 0 for _, datatype in abi.PREDEFINED_TYPES)


def _uses_openmp(granule) -> bool:
    """OpenMP threads move the rank's memory onto a file of their own, which would hide the rings."""
    return any(item.name in OPENMP_FORKS for item in granule.proto.module.imports)


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


def describe(signature: int) -> str:
    """A guest collective's signature as the call a program made, e.g. ``MPI_Allreduce(MPI_SUM, MPI_INT)``."""
    name = GUEST_COLLECTIVES.get(signature & 0xF, f"collective {signature & 0xF}")
    if signature & 0xF == 1:
        return name
    op, datatype = OP_NAMES.get(signature >> 4 & 0xF, "?"), signature >> 8 & 0xFF
    return f"{name}({op}, {TYPE_NAMES[datatype] if datatype < len(TYPE_NAMES) else '?'})"


def _shadow(state: RankState, handle: int, signature: int) -> tuple[Communicator, str]:
    """The communicator on which a guest-run collective's messages travel, and the collective's name."""
    name = GUEST_COLLECTIVES.get(signature & 0xF)
    if name is None:
        raise fail(ErrorClass.ERR_ARG, f"unknown guest collective {signature:#x}")
    comm = state.comm(handle)
    return Communicator(-1 - comm.context, comm.group), name


def _named(error: MpiError, name: str) -> MpiError:
    error.function = error.function or name
    return error


def faabric_mpi_shadow_send(call, handle, dest, signature, buf, nbytes) -> int:
    """One step of a guest-run collective that the rings could not take: send ``nbytes`` to ``dest``."""
    state = state_of(call)
    comm, name = _shadow(state, handle, signature)
    try:
        state.check_peer(comm, dest, receiving=False)
        state.endpoint.send(comm, dest, signature, state.data(buf, nbytes, BYTE))
    except MpiError as error:
        raise _named(error, name) from None
    return SUCCESS


def faabric_mpi_shadow_recv(call, handle, source, signature, buf, nbytes) -> int:
    """One step of a guest-run collective: wait for exactly ``nbytes`` from ``source``.

    Raises:
        MpiError: ``source`` called another collective, or with another count (a mismatched collective).
    """
    state = state_of(call)
    comm, name = _shadow(state, handle, signature)
    me = comm.rank_of[state.rank]
    try:
        state.check_peer(comm, source, receiving=False)
        capacity, deliver = state.receiver(buf, nbytes, BYTE)
        request = state.endpoint.post_recv(comm, source, signature, capacity, deliver)
        mailbox = state.world.mailboxes[state.rank]
        found: list = []

        def arrived() -> bool:
            if request.done:
                return True
            for envelope in mailbox.unexpected:
                if envelope.context == comm.context and envelope.source == source and envelope.tag != signature:
                    found.append(envelope.tag)
                    return True
            return False

        state.endpoint.wait_for(arrived, f"{name} (for rank {source} of the communicator)")
        if found:
            raise fail(
                ErrorClass.ERR_OTHER,
                f"mismatched collective: rank {me} called {describe(signature)} but rank {source} "
                f"called {describe(found[0])} (ranks in the communicator)",
            )
        if request.error is not None:
            raise request.error
        if request.nbytes != nbytes:
            raise fail(
                ErrorClass.ERR_OTHER,
                f"mismatched collective: rank {me} called {describe(signature)} with {nbytes} bytes "
                f"but rank {source} with {request.nbytes} (ranks in the communicator)",
            )
    except MpiError as error:
        raise _named(error, name) from None
    return SUCCESS


def faabric_mpi_yield(_call) -> int:
    """Give the calling thread's core away for a moment (a polling receive; the GIL is released meanwhile)."""
    os.sched_yield()
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
    ("faabric_mpi_shadow_send", "iiiii", faabric_mpi_shadow_send),
    ("faabric_mpi_shadow_recv", "iiiii", faabric_mpi_shadow_recv),
]
