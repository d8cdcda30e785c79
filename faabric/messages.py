"""Messages: one function call and its result, as plain data that packs to msgpack."""

from __future__ import annotations

import dataclasses
import itertools
import os
import time
from typing import Any

import msgpack


@dataclasses.dataclass
class Message:
    """One function call, and after it has run, its result.

    ``id`` is unique per call; ``app_id`` groups a call with the calls it
    chains. ``func_ptr`` selects a function-table entry of the module instead
    of its entry point (Faasm's chaining by pointer).
    """

    id: int
    app_id: int
    user: str
    function: str
    input: bytes = b""
    cmdline: str = ""
    func_ptr: int = 0
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    # MPI: the world this call is a rank of (0: not an MPI call).
    mpi_world_id: int = 0
    mpi_rank: int = 0
    mpi_world_size: int = 0
    mpi_home: str = ""  # peer address of rank 0's host ("": every rank runs on the world's own host)
    mpi_root_call: int = 0  # rank 0's call: other hosts watch it to learn that the world failed
    # Threads (OpenMP) and other groups of calls that run together.
    group_id: int = 0
    group_index: int = 0
    snapshot_key: str = ""
    # Run only on this host; or, with a slot free there, on this host first (an MPI world's ranks near rank 0).
    pin_host: str = ""
    prefer_host: str = ""
    # Filled in when the call has run.
    return_value: int | None = None
    output: bytes = b""
    stdout: bytes = b""
    stderr: bytes = b""
    error: dict | None = None
    executed_host: str = ""
    submitted_ns: int = 0
    start_ns: int = 0
    finish_ns: int = 0

    @property
    def name(self) -> str:
        return f"{self.user}/{self.function}"

    @property
    def finished(self) -> bool:
        return self.finish_ns != 0

    def pack(self) -> bytes:
        """Encode for the wire."""
        return msgpack.packb(dataclasses.astuple(self), use_bin_type=True)

    @classmethod
    def unpack(cls, data: bytes) -> "Message":
        """Decode what :meth:`pack` produced."""
        return cls(*msgpack.unpackb(data, raw=False))


class IdGenerator:
    """Call ids that are unique per process and unlikely to clash across hosts.

    Ids stay below 2**31 so that guests see them as positive ``unsigned int``s.
    """

    def __init__(self) -> None:
        start = int.from_bytes(os.urandom(4), "little") & 0x3FFFFFFF
        self._counter = itertools.count(start)

    def next(self) -> int:
        return (next(self._counter) & 0x7FFFFFFF) or next(self._counter)


def new_call(
    ids: IdGenerator, user: str, function: str, input: bytes = b"", app_id: int = 0, **fields: Any
) -> Message:
    """A fresh message for a call of ``user/function``."""
    message_id = ids.next()
    return Message(
        id=message_id,
        app_id=app_id or message_id,
        user=user,
        function=function,
        input=input,
        submitted_ns=time.time_ns(),
        **fields,
    )
