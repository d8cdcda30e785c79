"""How an MPI world starts and ends: rank 0's ``MPI_Init`` makes it, every rank joins it.

Rank 0 asks the planner for ranks 1..N-1 near its own host (Faasm's scheme);
a rank landing on another host joins the world there and reports to the
world's home. Watchers on the event loop end the world on every host as
soon as any rank fails, and forget it once its ranks have finished.
"""

from __future__ import annotations

import asyncio
import inspect
import logging

from faabric.exceptions import FaabricError, MpiError, MpiWorldFailedError
from faabric.mpi.errors import ErrorClass, fail
from mpi_shim.state import STATE_KEY, RankState

log = logging.getLogger(__name__)


def init(call, thread_level: int) -> RankState:
    """``MPI_Init``: this call becomes (or makes) its rank of a world; returns once every rank has joined."""
    if call.scratch.get(STATE_KEY) is not None:
        raise fail(ErrorClass.ERR_OTHER, "MPI is already initialised")
    host, message = call.context.host, call.message
    registry = host.mpi_worlds
    timeout = host.config.mpi_timeout
    if message.mpi_world_id == 0:
        world = _start_world(call, max(1, message.mpi_world_size))
        rank = 0
    else:
        rank = message.mpi_rank
        world = registry.get(message.mpi_world_id)
        if world is None:
            if not message.mpi_home or registry.network is None:
                detail = f"this rank runs on host {host.id}, which cannot reach its world's other ranks"
                raise MpiError(int(ErrorClass.ERR_OTHER), "MPI_ERR_OTHER", detail, "MPI_Init", rank, message.mpi_world_id)
            world, made = registry.join(message.mpi_world_id, message.mpi_world_size, timeout, message.mpi_home)
            if made:
                _watch_from_afar(host, registry, world, message.mpi_root_call)
        if world.home:
            call.context.on_finish(lambda: world.depart(rank))
    world.join(rank)
    world.wait_until(rank, lambda: world.mapped, "MPI_Init (waiting for every rank to start)", host.pool.blocking)
    world.initialized(rank)
    state = RankState(call, world, rank, thread_level)
    call.scratch[STATE_KEY] = state
    return state


def _start_world(call, size: int):
    """Rank 0: make the world here and ask the planner for the other ranks, near this host if it has room."""
    host, message = call.context.host, call.message
    capacity = asyncio.run_coroutine_threadsafe(_capacity(host.planner), host.loop).result()
    if size > capacity:
        detail = f"a world of {size} ranks needs {size} slots; the cluster has {capacity}"
        raise MpiError(int(ErrorClass.ERR_OTHER), "MPI_ERR_OTHER", detail, "MPI_Init", 0, 0)
    registry = host.mpi_worlds
    world = registry.create(host.ids.next(), size, host.config.mpi_timeout)
    message.mpi_world_id, message.mpi_rank, message.mpi_world_size = world.id, 0, size
    fields = {
        "mpi_world_id": world.id, "mpi_world_size": size, "env": dict(message.env), "prefer_host": host.id,
        "mpi_home": world.address, "mpi_root_call": message.id,
    }
    chained = call.context.chain_many(
        [(message.function, message.input, 0, {**fields, "mpi_rank": rank}) for rank in range(1, size)]
    )
    asyncio.run_coroutine_threadsafe(_watch(host, registry, world, [message.id, *chained]), host.loop)
    log.info("MPI world %d of %d ranks starts here (rank 0 is call %d)", world.id, size, message.id)
    return world


async def _capacity(planner) -> int:
    capacity = planner.capacity()
    return await capacity if inspect.isawaitable(capacity) else capacity


async def _watch(host, registry, world, message_ids: list[int]) -> None:
    """(The world's home) fail the world as soon as any rank fails; forget it once every rank has finished."""

    async def one(rank: int, message_id: int) -> None:
        try:
            message = await host.planner.wait_result(message_id)
            if message.error:
                world.abort(rank, FaabricError.from_wire(message.error))
        except FaabricError as error:
            world.abort(rank, error)
        except Exception:  # noqa: BLE001 - a watcher must never die silently
            log.exception("watching rank %d of MPI world %d failed", rank, world.id)
        finally:
            world.depart(rank)

    await asyncio.gather(*(one(rank, message_id) for rank, message_id in enumerate(message_ids)))
    registry.remove(world.id)


def _watch_from_afar(host, registry, world, root_call: int) -> None:
    """(Another host of the world) fail it here if rank 0 fails, e.g. with its host lost; forget it once
    this host's ranks have finished."""

    def fail(error: FaabricError) -> None:
        if isinstance(error, MpiWorldFailedError):  # rank 0 stopped because of another rank: name that one
            world.abort(error.failed_rank, FaabricError(error.reason), tell_others=False)
        else:
            world.abort(0, error, tell_others=False)

    async def watch_root() -> None:
        try:
            message = await host.planner.wait_result(root_call)
            if message.error:
                fail(FaabricError.from_wire(message.error))
        except FaabricError as error:
            fail(error)

    def forget() -> None:
        registry.remove(world.id)
        host.loop.call_soon_threadsafe(watcher.cancel)

    watcher = asyncio.run_coroutine_threadsafe(watch_root(), host.loop)
    world.on_empty = forget
