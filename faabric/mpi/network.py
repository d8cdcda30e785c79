"""MPI between hosts: the messages a host's worlds exchange over its peer channel.

Every message is ``[b"mpi", header, body?]``: the header is a msgpack array
``[kind, world_id, ...]``; a point-to-point message's bytes travel as the
body, untouched, and collectives' values as :mod:`faabric.mpi.wire` in the
body. Messages arrive on the channel's receiver thread and go straight into
the world (no event loop on the way). A message for a world this host does
not know (it has finished here) is dropped; a malformed one is dropped with a
log line.
"""

from __future__ import annotations

import enum
import logging

import msgpack

from faabric.exceptions import FaabricError, MalformedFrameError
from faabric.mpi import wire
from faabric.mpi.world import RemoteSend, Slot, World
from faabric.transport.peers import PeerChannel

log = logging.getLogger(__name__)
TOPIC = b"mpi"


class Kind(enum.IntEnum):
    MESSAGE = 0  # [kind, world, dest, context, source, tag, sync_id, sender address] + bytes
    ACK = 1  # [kind, world, sync_id]: a synchronous send matched
    JOIN = 2  # [kind, world, rank, address]: to the home
    MAP = 3  # [kind, world, addresses]: from the home
    BUNDLE = 4  # [kind, world, context, sequence, group, name, signature, share, root] + {rank: contribution}
    COMPLETION = 5  # [kind, world, context, sequence] + what the host's ranks need
    ABORT = 6  # [kind, world, rank, error]


class MpiNetwork:
    """Sends and receives the MPI traffic of one host's worlds."""

    def __init__(self, channel: PeerChannel, worlds) -> None:
        self.channel = channel
        self.address = channel.address
        self._worlds = worlds  # the host's WorldRegistry
        channel.on(TOPIC, self._receive)

    # Sending --------------------------------------------------------------------

    def _send(self, address: str, header: list, body=None) -> None:
        parts = [msgpack.packb(header, use_bin_type=True)]
        if body is not None:
            parts.append(body)
        self.channel.send(address, TOPIC, parts)

    def send_message(self, address, world_id, dest, context, source, tag, sync_id, data) -> None:
        self._send(address, [Kind.MESSAGE, world_id, dest, context, source, tag, sync_id, self.address], data)

    def send_ack(self, address: str, world_id: int, sync_id: int) -> None:
        self._send(address, [Kind.ACK, world_id, sync_id])

    def send_join(self, address: str, world_id: int, rank: int) -> None:
        self._send(address, [Kind.JOIN, world_id, rank, self.address])

    def send_map(self, address: str, world_id: int, addresses: list[str]) -> None:
        self._send(address, [Kind.MAP, world_id, addresses])

    def send_bundle(self, address: str, world_id: int, slot: Slot, given: dict) -> None:
        context, sequence = slot.key
        header = [Kind.BUNDLE, world_id, context, sequence, slot.group, slot.name, slot.signature, slot.spec, slot.root]
        self._send(address, header, wire.pack(given))

    def send_completion(self, address: str, world_id: int, key: tuple[int, int], payload: dict) -> None:
        self._send(address, [Kind.COMPLETION, world_id, *key], wire.pack(payload))

    def send_abort(self, address: str, world_id: int, rank: int, error: FaabricError) -> None:
        self._send(address, [Kind.ABORT, world_id, rank, error.to_wire()])

    # Receiving ------------------------------------------------------------------

    def _receive(self, parts: list) -> None:
        try:
            header = msgpack.unpackb(parts[0], raw=False, use_list=False, strict_map_key=False)
            kind, world_id = Kind(header[0]), header[1]
        except (ValueError, TypeError, IndexError, msgpack.UnpackException, msgpack.ExtraData) as error:
            log.warning("dropped a malformed MPI message: %s: %s", type(error).__name__, error)
            return
        world = self._worlds.get(world_id)
        if world is None:
            log.debug("dropped an MPI %s for world %s, which has no ranks left here", kind.name, world_id)
            return
        try:
            self._handle(world, kind, header, parts[1] if len(parts) > 1 else None)
        except (MalformedFrameError, ValueError, TypeError, IndexError, KeyError) as error:
            log.warning("dropped a malformed MPI %s for world %s: %s: %s", kind.name, world_id, type(error).__name__, error)

    def _handle(self, world: World, kind: Kind, header: tuple, body) -> None:
        if kind == Kind.MESSAGE:
            _, _, dest, context, source, tag, sync_id, sender = header
            if not (0 <= dest < world.size and world.local[dest]):
                raise ValueError(f"rank {dest} does not run here")
            synchronous = RemoteSend(sender, sync_id) if sync_id else None
            with world.lock:
                world.deliver(dest, context, source, tag, body, synchronous, True)
        elif kind == Kind.ACK:
            world.acknowledged(header[2])
        elif kind == Kind.JOIN:
            _, _, rank, address = header
            if not 0 <= rank < world.size:
                raise ValueError(f"rank {rank} is not in a world of {world.size}")
            world.joined_remotely(rank, address)
        elif kind == Kind.MAP:
            addresses = list(header[2])
            if len(addresses) != world.size:
                raise ValueError(f"a map of {len(addresses)} ranks for a world of {world.size}")
            world.set_map(addresses)
        elif kind == Kind.BUNDLE:
            _, _, context, sequence, group, name, signature, share, root = header
            given = wire.unpack(body)
            if not given or any(not 0 <= index < len(group) for index in given):
                raise ValueError("a bundle with ranks outside its communicator")
            world.bundle_arrived((context, sequence), tuple(group), name, tuple(signature), share, root, given)
        elif kind == Kind.COMPLETION:
            _, _, context, sequence = header
            world.completion_arrived((context, sequence), wire.unpack(body))
        elif kind == Kind.ABORT:
            _, _, rank, error = header
            world.abort(rank, FaabricError.from_wire(error), tell_others=False)
