"""Peer channels between processes: ZeroMQ PUSH/PULL (see :mod:`faabric.transport.peers`)."""

from __future__ import annotations

import threading
from typing import Sequence

import zmq

from faabric.exceptions import TransportError
from faabric.transport.peers import PeerChannel


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
        self.address = f"tcp://{advertise_host or bind_host}:{port}"
        self._wake_address = f"inproc://peers-stop-{id(self)}"
        self._stop_pull = self._context.socket(zmq.PAIR)
        self._stop_pull.bind(self._wake_address)
        self._pushes: dict[str, tuple[threading.Lock, zmq.Socket]] = {}
        self._pushes_lock = threading.Lock()
        self._receiver = threading.Thread(target=self._receive, name=f"peers {self.address}", daemon=True)
        self._receiver.start()

    def send(self, address: str, topic: bytes, parts: Sequence) -> None:
        entry = self._pushes.get(address)
        if entry is None:
            entry = self._connect(address)
        lock, push = entry
        with lock:
            push.send_multipart([topic, *parts], copy=True)

    def _connect(self, address: str) -> tuple[threading.Lock, zmq.Socket]:
        with self._pushes_lock:
            entry = self._pushes.get(address)
            if entry is None:
                push = self._context.socket(zmq.PUSH)
                push.setsockopt(zmq.LINGER, 1000)
                push.setsockopt(zmq.SNDHWM, 0)  # a send never blocks (ranks send holding no lock but their own)
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
