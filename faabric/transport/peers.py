"""Host-to-host channels for the hot path (MPI messages between ranks on different hosts).

A :class:`PeerChannel` sends multipart messages to another host's channel by
address and hands the messages it receives to a handler, on a thread of its
own: nothing here touches the event loop, so a rank's thread sends straight
from its host call and a message reaches the receiving rank with one thread
hand-off. Messages from one channel to another arrive in the order sent.

* :class:`~faabric.transport.zmq_peers.ZmqPeers`: a PULL socket bound on the
  worker's peer port and one PUSH socket per destination, between processes.
* :class:`InProcessPeers` on a :class:`Switchboard`: the same behaviour for
  the embedded runtime's hosts sharing one process.

Every message is ``[topic, header, *payload]``; a channel routes it to the
handler registered for its topic. Messages that cannot be routed or handled
are dropped with a log line; the channel keeps serving.

An :class:`Inbox` is a channel's side door for one thread (an MPI rank):
other hosts send to its address directly, local threads :meth:`~Inbox.ring`
it, and its owner blocks in :meth:`~Inbox.wait` for either. A message then
reaches the waiting thread with no hand-off through the receiver thread.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from typing import Callable, Sequence

from faabric.exceptions import TransportError

log = logging.getLogger(__name__)
Handler = Callable[[list], None]  # handler(parts after the topic), on the channel's receiver thread
_STOP = object()


class PeerChannel:
    """Send to other hosts' channels; receive on a thread of this channel's own."""

    address = ""

    def __init__(self) -> None:
        self._handlers: dict[bytes, Handler] = {}

    def on(self, topic: bytes, handler: Handler) -> None:
        """Route messages whose first part is ``topic`` to ``handler``."""
        self._handlers[topic] = handler

    def send(self, address: str, topic: bytes, parts: Sequence) -> None:
        """Send ``[topic, *parts]`` (bytes-like, copied before this returns) to the channel or inbox at ``address``."""
        raise NotImplementedError

    def post(self, address: str, parts: Sequence) -> None:
        """Send ``parts`` (bytes-like, copied before this returns) to the inbox at ``address``."""
        raise NotImplementedError

    def inbox(self) -> "Inbox":
        """A new inbox with an address of its own, for one thread to wait on."""
        raise NotImplementedError

    def forget(self, address: str) -> None:
        """Drop what this channel keeps for sending to ``address`` (an inbox whose world has finished here);
        messages already sent are still delivered."""

    def close(self) -> None:
        raise NotImplementedError

    def _dispatch(self, parts: list) -> None:
        if not parts:
            return
        handler = self._handlers.get(bytes(parts[0]))
        if handler is None:
            log.warning("dropped a peer message with unknown topic %r", bytes(parts[0])[:32])
            return
        try:
            handler(parts[1:])
        except Exception:  # noqa: BLE001 - one bad message must not stop the channel
            log.exception("handling a peer message on %r failed; dropped it", bytes(parts[0]))


class Inbox:
    """Messages for one thread (each a list of parts, as posted), and a bell other local threads ring to wake it."""

    address = ""

    def wait(self, timeout: float) -> list[list]:
        """Block until a message arrives, the bell rings or ``timeout`` passes; the messages received
        (maybe not all that wait: the rest come with the next ``wait`` or ``drain``)."""
        raise NotImplementedError

    def drain(self) -> list[list]:
        """The messages waiting, without blocking."""
        raise NotImplementedError

    def receive(self, timeout: float) -> bytes | None:
        """The first part of the next message (``b""``: the bell rang), or None if none came within ``timeout``;
        its further parts, if its sender says it has any, come from :meth:`next_part`. Cheaper than ``wait``."""
        raise NotImplementedError

    def next_part(self):
        """The next part (bytes-like) of the message :meth:`receive` returned, or None if it has no more."""
        raise NotImplementedError

    def ring(self) -> None:
        """Wake the owner if it waits (from any thread)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class Switchboard:
    """The embedded runtime's network: in-process peer channels found by address."""

    def __init__(self) -> None:
        self._queues: dict[str, queue.SimpleQueue] = {}
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def channel(self) -> "InProcessPeers":
        """A new channel with an address of its own on this switchboard."""
        return InProcessPeers(self, self._register("host"))

    def _register(self, kind: str) -> tuple[str, queue.SimpleQueue]:
        with self._lock:
            address = f"inproc://{kind}-{next(self._numbers)}"
            inbox = self._queues[address] = queue.SimpleQueue()
            return address, inbox

    def find(self, address: str) -> queue.SimpleQueue:
        found = self._queues.get(address)
        if found is None:
            raise TransportError(address, "no such peer on this switchboard")
        return found

    def forget(self, address: str) -> None:
        with self._lock:
            self._queues.pop(address, None)


class InProcessPeers(PeerChannel):
    """A peer channel between hosts of one process: a queue and a receiver thread per channel."""

    def __init__(self, switchboard: Switchboard, registered: tuple[str, queue.SimpleQueue]) -> None:
        super().__init__()
        self.address, self._inbox = registered
        self._switchboard = switchboard
        self._receiver = threading.Thread(target=self._receive, name=f"peers {self.address}", daemon=True)
        self._receiver.start()

    def send(self, address: str, topic: bytes, parts: Sequence) -> None:
        self.post(address, [topic, *parts])

    def post(self, address: str, parts: Sequence) -> None:
        self._switchboard.find(address).put([bytes(part) for part in parts])

    def inbox(self) -> "InProcessInbox":
        return InProcessInbox(self._switchboard)

    def _receive(self) -> None:
        while True:
            parts = self._inbox.get()
            if parts is _STOP:
                return
            self._dispatch(parts)

    def close(self) -> None:
        self._switchboard.forget(self.address)
        self._inbox.put(_STOP)
        self._receiver.join(5)


class InProcessInbox(Inbox):
    """An inbox on a :class:`Switchboard`: a queue; a ring is an empty entry."""

    def __init__(self, switchboard: Switchboard) -> None:
        self._switchboard = switchboard
        self.address, self._queue = switchboard._register("inbox")
        self._rest: list = []  # the parts left of the message receive() returned

    def wait(self, timeout: float) -> list[list]:
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return []
        return ([first] if first else []) + self.drain()

    def drain(self) -> list[list]:
        messages = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return messages
            if item:
                messages.append(item)

    def receive(self, timeout: float) -> bytes | None:
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if not item:
            return b""
        self._rest = item[1:]
        return item[0]

    def next_part(self):
        return self._rest.pop(0) if self._rest else None

    def ring(self) -> None:
        self._queue.put(None)

    def close(self) -> None:
        self._switchboard.forget(self.address)
