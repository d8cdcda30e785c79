"""Peer channels between processes: ZeroMQ PUSH/PULL (see :mod:`faabric.transport.peers`)."""

from __future__ import annotations

import threading
from typing import Sequence

import zmq

from faabric.exceptions import TransportError
from faabric.transport.peers import Inbox, PeerChannel


FORGET_LINGER_MS = 10_000  # how long a forgotten destination's queued messages keep being delivered
# Plain ints: pyzmq turns its enum constants (and EVENTS results) into enum objects, ~2 µs a message.
_EVENTS, _POLLIN, _RCVMORE = int(zmq.EVENTS), int(zmq.POLLIN), int(zmq.RCVMORE)
# pyzmq's send without the Python layer above it (which only adds routing ids and groups, for sockets
# this module never makes): half the cost of a one-part send. It copies the bytes, as pushes must.
_send_copy = zmq.backend.Socket.send


class ZmqPeers(PeerChannel):
    """A peer channel over ZeroMQ PUSH/PULL sockets (one PULL bound here, a PUSH per destination)."""

    def __init__(self, bind_host: str, port: int = 0, advertise_host: str | None = None) -> None:
        super().__init__()
        self._context = zmq.Context()
        self._pull = self._context.socket(zmq.PULL)
        self._pull.setsockopt(zmq.LINGER, 0)
        self._pull.setsockopt(zmq.RCVHWM, 0)  # never drop or block: MPI has no flow control of its own
        try:
            if port:
                self._pull.bind(f"tcp://{bind_host}:{port}")
            else:
                port = self._pull.bind_to_random_port(f"tcp://{bind_host}")
        except zmq.ZMQError as error:
            self._pull.close()
            self._context.term()
            raise TransportError(f"tcp://{bind_host}:{port}", f"cannot listen for peers: {error}") from None
        self._bind_host = bind_host
        self._advertise_host = advertise_host or bind_host
        self.address = f"tcp://{self._advertise_host}:{port}"
        self._wake_address = f"inproc://peers-stop-{id(self)}"
        self._stop_pull = self._context.socket(zmq.PAIR)
        self._stop_pull.bind(self._wake_address)
        self._pushes: dict[str, tuple[threading.Lock, zmq.Socket]] = {}
        self._pushes_lock = threading.Lock()
        self._receiver = threading.Thread(target=self._receive, name=f"peers {self.address}", daemon=True)
        self._receiver.start()

    def send(self, address: str, topic: bytes, parts: Sequence) -> None:
        self.post(address, [topic, *parts])

    def post(self, address: str, parts: Sequence) -> None:
        entry = self._pushes.get(address)
        if entry is None:
            entry = self._connect(address)
        lock, push = entry
        with lock:
            if len(parts) == 1:
                _send_copy(push, parts[0])
            else:
                push.send_multipart(parts)

    def inbox(self) -> "ZmqInbox":
        return ZmqInbox(self, self._context, self._bind_host, self._advertise_host)

    def forget(self, address: str) -> None:
        with self._pushes_lock:
            entry = self._pushes.pop(address, None)
        if entry is not None:
            lock, push = entry
            with lock:
                push.close(linger=FORGET_LINGER_MS)  # a rank's last messages may still be queued

    def _connect(self, address: str) -> tuple[threading.Lock, zmq.Socket]:
        with self._pushes_lock:
            entry = self._pushes.get(address)
            if entry is None:
                push = self._context.socket(zmq.PUSH)
                push.setsockopt(zmq.LINGER, 1000)
                push.setsockopt(zmq.SNDHWM, 0)  # a send never blocks (ranks send holding no lock but their own)
                push.copy_threshold = 1 << 30  # always copy: the caller may reuse its buffer once send returns
                try:
                    push.connect(address)
                except zmq.ZMQError as error:
                    push.close()
                    raise TransportError(address, f"cannot connect to peer: {error}") from None
                entry = self._pushes[address] = (threading.Lock(), push)
            return entry

    def _receive(self) -> None:
        poller = zmq.Poller()
        poller.register(self._pull, zmq.POLLIN)
        poller.register(self._stop_pull, zmq.POLLIN)
        while True:
            ready = dict(poller.poll())
            if self._stop_pull in ready:
                return
            while True:  # drain every ready message before polling again
                try:
                    parts = self._pull.recv_multipart(zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    break
                self._dispatch([part.buffer for part in parts])

    def close(self) -> None:
        stop = self._context.socket(zmq.PAIR)
        stop.connect(self._wake_address)
        stop.send(b"")
        self._receiver.join(5)
        stop.close(0)
        self._stop_pull.close(0)
        self._pull.close(0)
        with self._pushes_lock:
            for lock, push in self._pushes.values():
                with lock:
                    push.close()
            self._pushes.clear()
        self._context.term()


class ZmqInbox(Inbox):
    """A PULL socket of one thread's own; its owner blocks in ``recv`` on it (no poll), as raw pyzmq does.

    A ring is an empty message posted to the inbox through the host's channel.
    """

    def __init__(self, peers: ZmqPeers, context: zmq.Context, bind_host: str, advertise_host: str) -> None:
        self._peers = peers
        self._pull = context.socket(zmq.PULL)
        self._pull.setsockopt(zmq.LINGER, 0)
        self._pull.setsockopt(zmq.RCVHWM, 0)
        try:
            port = self._pull.bind_to_random_port(f"tcp://{bind_host}")
        except zmq.ZMQError as error:
            self._pull.close()
            raise TransportError(f"tcp://{bind_host}", f"cannot listen for an inbox: {error}") from None
        self.address = f"tcp://{advertise_host}:{port}"
        self._timeout_ms = -1

    def wait(self, timeout: float) -> list[list]:
        """The next message only: its owner takes any others at its next wait or drain (this saves a
        ``getsockopt`` or two a message, on the critical path of a cross-host round trip)."""
        timeout_ms = max(1, int(timeout * 1000))
        if timeout_ms != self._timeout_ms:
            self._pull.setsockopt(zmq.RCVTIMEO, timeout_ms)
            self._timeout_ms = timeout_ms
        try:
            first = self._pull.recv(copy=False)
        except zmq.Again:
            return []
        if first.more:
            return [self._rest(first.bytes)]
        data = first.bytes
        return [[data]] if data else []

    def receive(self, timeout: float) -> bytes | None:
        """The first part as bytes, with no ``zmq.Frame`` and no ``RCVMORE`` look (about 1 µs less a message
        than :meth:`wait`): the caller knows from the part whether more follow."""
        timeout_ms = max(1, int(timeout * 1000))
        if timeout_ms != self._timeout_ms:
            self._pull.setsockopt(zmq.RCVTIMEO, timeout_ms)
            self._timeout_ms = timeout_ms
        try:
            return self._pull.recv()
        except zmq.Again:
            return None

    def next_part(self):
        if not self._pull.getsockopt(_RCVMORE):
            return None
        return self._pull.recv(copy=False).buffer

    def drain(self) -> list[list]:
        pull, messages = self._pull, []
        while pull.getsockopt(_EVENTS) & _POLLIN:
            first = pull.recv()
            message = self._rest(first)
            if first:
                messages.append(message)
        return messages

    def _rest(self, first: bytes) -> list:
        """The message whose first part is ``first``: further parts (large bodies) stay uncopied."""
        parts = [first]
        while self._pull.getsockopt(_RCVMORE):
            parts.append(self._pull.recv(copy=False).buffer)
        return parts

    def ring(self) -> None:
        self._peers.post(self.address, [b""])

    def close(self) -> None:
        self._pull.close(0)
