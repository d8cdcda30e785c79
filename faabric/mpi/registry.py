"""The worlds a host has ranks of: made by rank 0's ``MPI_Init``, or by the first rank of a world from elsewhere."""

from __future__ import annotations

import threading

from faabric.mpi.network import MpiNetwork
from faabric.mpi.world import World


class WorldRegistry:
    """World id -> :class:`World`, for one host (kept on the host, never global).

    With a peer channel, worlds may span hosts: the registry's
    :class:`~faabric.mpi.network.MpiNetwork` carries their traffic.
    """

    def __init__(self, peers=None) -> None:
        self._worlds: dict[int, World] = {}
        self._lock = threading.Lock()
        self.network = MpiNetwork(peers, self) if peers is not None else None

    def create(self, world_id: int, size: int, timeout: float) -> World:
        """A new world whose home is this host."""
        with self._lock:
            world = self._worlds[world_id] = World(world_id, size, timeout, self.network)
            return world

    def join(self, world_id: int, size: int, timeout: float, home: str) -> tuple[World, bool]:
        """This host's part of a world whose home is at ``home``; whether it was made now."""
        with self._lock:
            world = self._worlds.get(world_id)
            if world is not None:
                return world, False
            world = self._worlds[world_id] = World(world_id, size, timeout, self.network, home)
            return world, True

    def get(self, world_id: int) -> World | None:
        return self._worlds.get(world_id)

    def remove(self, world_id: int) -> None:
        """Forget a world whose ranks here have all finished, and the channel's sockets to its inboxes."""
        with self._lock:
            world = self._worlds.pop(world_id, None)
        if world is not None and world.rings is not None:
            world.rings.close()
        if world is not None and self.network is not None:
            for address in set(world.inbox_addresses) - {None}:
                self.network.channel.forget(address)

    def __len__(self) -> int:
        return len(self._worlds)
