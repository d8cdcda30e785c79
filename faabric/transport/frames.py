"""The wire format: one msgpack array per frame, ``[kind, request_id, method, payload]``."""

from __future__ import annotations

import enum
from typing import Any

import msgpack

from faabric.exceptions import MalformedFrameError

MAX_FRAME_BYTES = 256 << 20


class FrameKind(enum.IntEnum):
    SEND = 0  # one-way, no reply
    REQUEST = 1  # expects a REPLY or an ERROR with the same request id
    REPLY = 2
    ERROR = 3  # payload is FaabricError.to_wire()


def encode(kind: FrameKind, request_id: int, method: str, payload: Any) -> bytes:
    return msgpack.packb((int(kind), request_id, method, payload), use_bin_type=True)


def decode(data: bytes) -> tuple[FrameKind, int, str, Any]:
    """Parse a frame.

    Raises:
        MalformedFrameError: not msgpack, or not the four fields of a frame.
    """
    if len(data) > MAX_FRAME_BYTES:
        raise MalformedFrameError(f"frame of {len(data)} bytes is larger than {MAX_FRAME_BYTES}")
    try:
        kind, request_id, method, payload = msgpack.unpackb(data, raw=False, strict_map_key=False)
        return FrameKind(kind), int(request_id), str(method), payload
    except (ValueError, TypeError, msgpack.UnpackException, msgpack.ExtraData) as error:
        raise MalformedFrameError(f"malformed frame: {type(error).__name__}: {error}") from None
