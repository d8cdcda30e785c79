"""Point-to-point bookkeeping: messages not yet received, requests, and each rank's mailbox."""

from __future__ import annotations

from typing import Callable

from faabric.exceptions import MpiError
from faabric.mpi.errors import ErrorClass, fail

ANY_SOURCE = -2
ANY_TAG = -1


class Envelope:
    """A sent message not yet received: its match keys, its bytes, and its sender's world rank (-1: unknown)."""

    __slots__ = ("context", "source", "tag", "data", "synchronous", "sender")

    def __init__(
        self, context: int, source: int, tag: int, data, synchronous: "SendRequest | RemoteSend | None", sender: int
    ) -> None:
        self.context, self.source, self.tag, self.data, self.synchronous = context, source, tag, data, synchronous
        self.sender = sender


class Request:
    """A pending operation; ``done`` turns true once, under the world lock."""

    __slots__ = ("done", "source", "tag", "nbytes", "error", "kind")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.done = False
        self.source = -1
        self.tag = -1
        self.nbytes = 0
        self.error: MpiError | None = None


class SendRequest(Request):
    __slots__ = ("owner",)

    def __init__(self, owner: int) -> None:  # the hot path: no super() chain
        self.kind, self.done, self.source, self.tag, self.nbytes, self.error = "send", False, -1, -1, 0, None
        self.owner = owner


class CollectiveRequest(Request):
    """A nonblocking collective (``MPI_Ibcast``...): done once its results are here; ``complete()`` takes them."""

    __slots__ = ("_ready", "complete", "what")

    def __init__(self, ready: Callable[[], bool], complete: Callable[[], None], what: str) -> None:
        self.kind, self.source, self.tag, self.nbytes, self.error = "collective", -1, -1, 0, None
        self._ready, self.complete, self.what = ready, complete, what

    @property
    def done(self) -> bool:
        return self._ready()


class RemoteSend:
    """A synchronous send from another host, acknowledged there once matched here."""

    __slots__ = ("address", "sync_id")

    def __init__(self, address: str, sync_id: int) -> None:
        self.address, self.sync_id = address, sync_id


class RecvRequest(Request):
    """A posted receive: ``deliver(data)`` writes matched bytes into the receiver's buffer.

    ``want_sender`` is the world rank of the wanted source (-1: any).
    """

    __slots__ = ("context", "want_source", "want_tag", "capacity", "deliver", "owner", "want_sender")

    def __init__(
        self, owner: int, context: int, source: int, tag: int, capacity: int, deliver: Callable, want_sender: int = -1
    ) -> None:
        self.kind, self.done, self.source, self.tag, self.nbytes, self.error = "recv", False, -1, -1, 0, None
        self.owner = owner
        self.want_sender = want_sender
        self.context, self.want_source, self.want_tag = context, source, tag
        self.capacity = capacity
        self.deliver = deliver


class Mailbox:
    """One world rank's queue of unexpected messages and its posted receives."""

    __slots__ = ("unexpected", "posted")

    def __init__(self) -> None:
        self.unexpected: list[Envelope] = []
        self.posted: list[RecvRequest] = []


def complete_receive(request: RecvRequest, source: int, tag: int, data) -> None:
    """Fill a posted receive with a matched message (world lock held)."""
    request.source, request.tag, request.nbytes = source, tag, len(data)
    if len(data) > request.capacity:
        request.error = truncated(source, tag, len(data), request.capacity)
    else:
        request.deliver(data)
    request.done = True


def truncated(source: int, tag: int, nbytes: int, capacity: int) -> MpiError:
    """MPI_ERR_TRUNCATE: a matched message of ``nbytes`` does not fit a receive of ``capacity`` bytes."""
    return fail(
        ErrorClass.ERR_TRUNCATE,
        f"message of {nbytes} bytes from rank {source} (tag {tag}) does not fit the receive buffer of {capacity} bytes",
    )
