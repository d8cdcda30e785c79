"""MPI between hosts: the messages a host's worlds exchange over its peer channel.

Point-to-point messages go to the receiving rank's own inbox and are taken
in by that rank's thread while it waits: a fixed binary header (the match
keys) followed by the bytes, in one part when small and two when large.
Everything else goes to the host's channel as ``[b"mpi", header, body?]``
(the header a msgpack array ``[kind, world_id, ...]``, collectives' values
as :mod:`faabric.mpi.wire` in the body) and is handled on its receiver
thread. Neither passes through the event loop. A message for a world this host does not know (it has
finished here) is dropped; a malformed one is dropped with a log line.
"""

from __future__ import annotations

import enum
import logging
import struct
from typing import Callable

import msgpack

from faabric.exceptions import FaabricError, MalformedFrameError
from faabric.mpi import wire
from faabric.mpi.mailbox import RemoteSend
from faabric.mpi.slots import Slot
from faabric.mpi.world import World
from faabric.transport.peers import PeerChannel

log = logging.getLogger(__name__)
TOPIC = b"mpi"


# world, dest, context, source, tag, sync_id, whether the bytes follow as a second part, len(sender address)
_MESSAGE = struct.Struct("<IIqiiIBH")
_ONE_PART_BYTES = 16 << 10  # smaller messages travel as one part (header and bytes copied together)


class Kind(enum.IntEnum):
    ACK = 1  # [kind, world, sync_id]: a synchronous send matched
    JOIN = 2  # [kind, world, rank, address, inbox address]: to the home
    MAP = 3  # [kind, world, addresses, inbox addresses]: from the home
    BUNDLE = 4  # [kind, world, context, sequence, group, name, signature, share, root] + {rank: contribution}
    COMPLETION = 5  # [kind, world, context, sequence] + what the host's ranks need
    ABORT = 6  # [kind, world, rank, error]


class MpiNetwork:
    """Sends and receives the MPI traffic of one host's worlds."""

    def __init__(self, channel: PeerChannel, worlds) -> None:
        self.channel = channel
        self.address = channel.address
        self._address_bytes = channel.address.encode()
        self._worlds = worlds  # the host's WorldRegistry
        channel.on(TOPIC, self._receive)

    # Sending --------------------------------------------------------------------

    def _send(self, address: str, header: list, body=None) -> None:
        parts = [msgpack.packb(header, use_bin_type=True)]
        if body is not None:
            parts.append(body)
        self.channel.send(address, TOPIC, parts)

    def send_message(self, address, world_id, dest, context, source, tag, sync_id, data) -> None:
        """A point-to-point message, to the inbox of rank ``dest`` at ``address``."""
        sender = self._address_bytes
        split = len(data) > _ONE_PART_BYTES
        header = _MESSAGE.pack(world_id, dest, context, source, tag, sync_id, split, len(sender)) + sender
        self.channel.post(address, [header, data] if split else [header + data])

    def send_ack(self, address: str, world_id: int, sync_id: int) -> None:
        self._send(address, [Kind.ACK, world_id, sync_id])

    def send_join(self, address: str, world_id: int, rank: int, inbox_address: str) -> None:
        self._send(address, [Kind.JOIN, world_id, rank, self.address, inbox_address])

    def send_map(self, address: str, world_id: int, addresses: list[str], inbox_addresses: list[str]) -> None:
        self._send(address, [Kind.MAP, world_id, addresses, inbox_addresses])

    def send_bundle(self, address: str, world_id: int, slot: Slot, given: dict) -> None:
        context, sequence = slot.key
        header = [Kind.BUNDLE, world_id, context, sequence, slot.group, slot.name, slot.signature, slot.spec, slot.root]
        self._send(address, header, wire.pack(given))

    def send_completion(self, address: str, world_id: int, key: tuple[int, int], payload: dict) -> None:
        self._send(address, [Kind.COMPLETION, world_id, *key], wire.pack(payload))

    def send_abort(self, address: str, world_id: int, rank: int, error: FaabricError) -> None:
        self._send(address, [Kind.ABORT, world_id, rank, error.to_wire()])

    # Receiving ------------------------------------------------------------------

    def take(self, world: World, messages: list[list]) -> None:
        """Deliver messages a rank's inbox received (on that rank's thread, world lock held)."""
        for parts in messages:
            rest = iter(parts[1:])
            message = self.parse(world, parts[0], lambda: next(rest, None))
            if message is not None:
                world.deliver(*message, True, False)

    @staticmethod
    def parse(world: World, first, next_part: Callable[[], object]) -> tuple | None:
        """``(dest, context, source, tag, data, synchronous)`` of a message an inbox of ``world`` received
        (``first`` its first part; ``next_part()`` gives the second, if the first says there is one), or None
        (logged) if it is malformed or meant for another world."""
        try:
            world_id, dest, context, source, tag, sync_id, split, length = _MESSAGE.unpack_from(first)
            end = _MESSAGE.size + length
            body = next_part() if split else memoryview(first)[end:]
            if body is None:
                raise ValueError("a message without the part holding its bytes")
            if world_id != world.id or not (0 <= dest < world.size and world.local[dest]):
                raise ValueError(f"a message for rank {dest} of world {world_id} reached world {world.id}")
            synchronous = RemoteSend(bytes(first[_MESSAGE.size : end]).decode(), sync_id) if sync_id else None
        except (ValueError, TypeError, IndexError, struct.error, UnicodeDecodeError) as error:
            log.warning("dropped a malformed MPI message: %s: %s", type(error).__name__, error)
            return None
        return dest, context, source, tag, body, synchronous

    def _receive(self, parts: list) -> None:
        header = self._header(parts)
        if header is None:
            return
        kind, world_id = header[0], header[1]
        world = self._worlds.get(world_id)
        if world is None:
            log.debug("dropped an MPI %s for world %s, which has no ranks left here", kind.name, world_id)
            return
        try:
            self._handle(world, kind, header, parts[1] if len(parts) > 1 else None)
        except (MalformedFrameError, ValueError, TypeError, IndexError, KeyError) as error:
            log.warning("dropped a malformed MPI %s for world %s: %s: %s", kind.name, world_id, type(error).__name__, error)

    @staticmethod
    def _header(parts: list) -> tuple | None:
        try:
            header = msgpack.unpackb(parts[0], raw=False, use_list=False, strict_map_key=False)
            return (Kind(header[0]), int(header[1]), *header[2:])
        except (ValueError, TypeError, IndexError, msgpack.UnpackException, msgpack.ExtraData) as error:
            log.warning("dropped a malformed MPI message: %s: %s", type(error).__name__, error)
            return None

    def _handle(self, world: World, kind: Kind, header: tuple, body) -> None:
        if kind == Kind.ACK:
            world.acknowledged(header[2])
        elif kind == Kind.JOIN:
            _, _, rank, address, inbox_address = header
            if not 0 <= rank < world.size:
                raise ValueError(f"rank {rank} is not in a world of {world.size}")
            world.joined_remotely(rank, str(address), str(inbox_address))
        elif kind == Kind.MAP:
            _, _, addresses, inbox_addresses = header
            if not len(addresses) == len(inbox_addresses) == world.size:
                raise ValueError(f"a map of {len(addresses)} ranks for a world of {world.size}")
            world.set_map(list(addresses), list(inbox_addresses))
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
