"""The worlds living on one host, created by rank 0's ``MPI_Init`` and found by the other ranks."""

from __future__ import annotations

import threading

from faabric.mpi.world import World


class WorldRegistry:
    """World id -> :class:`World`, for one host (kept on the host, never global)."""

    def __init__(self) -> None:
        self._worlds: dict[int, World] = {}
        self._lock = threading.Lock()

    def create(self, world_id: int, size: int, timeout: float) -> World:
        with self._lock:
            world = self._worlds[world_id] = World(world_id, size, timeout)
            return world

    def get(self, world_id: int) -> World | None:
        return self._worlds.get(world_id)

    def remove(self, world_id: int) -> None:
        with self._lock:
            self._worlds.pop(world_id, None)

    def __len__(self) -> int:
        return len(self._worlds)


def registry_of(host) -> WorldRegistry:
    """The host's registry, created on first use and kept as ``host.mpi_worlds``."""
    registry = getattr(host, "mpi_worlds", None)
    if registry is None:
        registry = vars(host).setdefault("mpi_worlds", WorldRegistry())
    return registry
