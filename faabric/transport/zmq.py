"""Request/reply and one-way calls over ZeroMQ, on asyncio.

:class:`RpcServer` binds a ROUTER socket; :class:`RpcClient` connects a
DEALER socket to it. Both directions carry frames from
:mod:`faabric.transport.frames`: a client can send and request, and the
server can push one-way calls back to a connected client (that is how the
planner hands calls to workers). Receive loops drain every frame that is
ready before awaiting again, instead of one await per message. Malformed
frames are dropped with a log line.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
from typing import Any, Awaitable, Callable

import zmq
import zmq.asyncio

from faabric.exceptions import FaabricError, TransportError, UnknownMethodError
from faabric.transport.frames import FrameKind, MalformedFrameError, decode, encode

log = logging.getLogger(__name__)
Handler = Callable[..., Any]  # handler(payload) or handler(peer, payload); may be async
_DRAIN = 256


class _Endpoint:
    def __init__(self, handlers: dict[str, Handler]) -> None:
        self.handlers = handlers
        self._tasks: set[asyncio.Task] = set()

    async def _call_handler(self, method: str, *args):
        handler = self.handlers.get(method)
        if handler is None:
            raise UnknownMethodError(method)
        result = handler(*args)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _receive_frames(self, receive: Callable) -> None:
        """Dispatch frames as they come, draining every ready one before awaiting again."""
        while True:
            batch = [await receive()]
            for _ in range(_DRAIN):
                try:
                    batch.append(receive(flags=zmq.NOBLOCK).result())
                except zmq.Again:
                    break
            for frame in batch:
                self._dispatch(frame)

    def _dispatch(self, frame) -> None:
        raise NotImplementedError

    def _spawn(self, coroutine: Awaitable) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _error_payload(error: BaseException) -> dict:
    if isinstance(error, FaabricError):
        return error.to_wire()
    return {"kind": "InternalError", "message": f"{type(error).__name__}: {error}", "fields": {}}


class RpcServer(_Endpoint):
    """A bound ROUTER socket dispatching frames to ``handlers[method](peer, payload)``."""

    def __init__(self, handlers: dict[str, Handler], context: zmq.asyncio.Context | None = None) -> None:
        super().__init__(handlers)
        self._context = context or zmq.asyncio.Context.instance()
        self._socket: zmq.asyncio.Socket | None = None
        self._receiver: asyncio.Task | None = None
        self.address = ""

    async def start(self, bind: str) -> str:
        """Bind (``tcp://HOST:PORT``; port 0 picks a free one) and start serving."""
        self._socket = self._context.socket(zmq.ROUTER)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        try:
            if bind.endswith(":0"):
                port = self._socket.bind_to_random_port(bind.rsplit(":", 1)[0])
                self.address = f"{bind.rsplit(':', 1)[0]}:{port}"
            else:
                self._socket.bind(bind)
                self.address = bind
        except zmq.ZMQError as error:
            self._socket.close()
            raise TransportError(bind, f"cannot listen: {error}") from None
        self._receiver = asyncio.ensure_future(self._receive_frames(self._socket.recv_multipart))
        return self.address

    async def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.cancel()
            await asyncio.gather(self._receiver, return_exceptions=True)
        await self._close_tasks()
        if self._socket is not None:
            self._socket.close()

    def push(self, peer: bytes, method: str, payload: Any) -> bool:
        """Send a one-way call to a connected client; False if it is gone."""
        try:
            self._socket.send_multipart([peer, encode(FrameKind.SEND, 0, method, payload)], flags=zmq.NOBLOCK)
            return True
        except zmq.ZMQError as error:
            log.warning("could not push %s to peer %s: %s", method, peer.hex(), error)
            return False

    def _dispatch(self, parts: list[bytes]) -> None:
        if len(parts) != 2:
            log.warning("dropped a message of %d parts (expected 2)", len(parts))
            return
        peer, data = parts
        try:
            kind, request_id, method, payload = decode(data)
        except MalformedFrameError as error:
            log.warning("dropped a frame from %s: %s", peer.hex(), error)
            return
        handler = self.handlers.get(method)
        inline = handler is not None and not inspect.iscoroutinefunction(handler)
        if kind == FrameKind.SEND:
            if inline:  # plain functions run at once: no task per frame on the hot path
                self._one_way_now(handler, peer, method, payload)
            else:
                self._spawn(self._one_way(peer, method, payload))
        elif kind == FrameKind.REQUEST:
            if inline:
                self._answer_now(handler, peer, request_id, method, payload)
            else:
                self._spawn(self._answer(peer, request_id, method, payload))
        else:
            log.warning("dropped a %s frame from %s: servers take only sends and requests", kind.name, peer.hex())

    async def _one_way(self, peer: bytes, method: str, payload: Any) -> None:
        try:
            await self._call_handler(method, peer, payload)
        except Exception as error:  # noqa: BLE001 - a bad call must not stop the server
            log.warning("one-way call %s from %s failed: %s", method, peer.hex(), error)

    def _one_way_now(self, handler: Handler, peer: bytes, method: str, payload: Any) -> None:
        try:
            handler(peer, payload)
        except Exception as error:  # noqa: BLE001 - a bad call must not stop the server
            log.warning("one-way call %s from %s failed: %s", method, peer.hex(), error)

    def _answer_now(self, handler: Handler, peer: bytes, request_id: int, method: str, payload: Any) -> None:
        try:
            frame = encode(FrameKind.REPLY, request_id, method, handler(peer, payload))
        except Exception as error:  # noqa: BLE001 - every error goes back to the caller
            if not isinstance(error, FaabricError):
                log.exception("request %s from %s failed", method, peer.hex())
            frame = encode(FrameKind.ERROR, request_id, method, _error_payload(error))
        try:
            self._socket.send_multipart([peer, frame], flags=zmq.NOBLOCK)
        except zmq.ZMQError as error:
            log.warning("could not answer %s to %s: %s", method, peer.hex(), error)

    async def _answer(self, peer: bytes, request_id: int, method: str, payload: Any) -> None:
        try:
            frame = encode(FrameKind.REPLY, request_id, method, await self._call_handler(method, peer, payload))
        except Exception as error:  # noqa: BLE001 - every error goes back to the caller
            if not isinstance(error, FaabricError):
                log.exception("request %s from %s failed", method, peer.hex())
            frame = encode(FrameKind.ERROR, request_id, method, _error_payload(error))
        try:
            await self._socket.send_multipart([peer, frame])
        except zmq.ZMQError as error:
            log.warning("could not answer %s to %s: %s", method, peer.hex(), error)


class RpcClient(_Endpoint):
    """A DEALER socket connected to an :class:`RpcServer`; serves the server's pushes too."""

    def __init__(self, address: str, handlers: dict[str, Handler] | None = None, context=None) -> None:
        super().__init__(handlers or {})
        self.address = address
        self._context = context or zmq.asyncio.Context.instance()
        self._socket: zmq.asyncio.Socket | None = None
        self._receiver: asyncio.Task | None = None
        self._pending: dict[int, asyncio.Future] = {}
        self._ids = itertools.count(1)

    async def connect(self) -> "RpcClient":
        self._socket = self._context.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 0)
        try:
            self._socket.connect(self.address)
        except zmq.ZMQError as error:
            self._socket.close()
            raise TransportError(self.address, f"cannot connect: {error}") from None
        self._receiver = asyncio.ensure_future(self._receive_frames(self._socket.recv))
        return self

    async def close(self) -> None:
        if self._receiver is not None:
            self._receiver.cancel()
            await asyncio.gather(self._receiver, return_exceptions=True)
        await self._close_tasks()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(TransportError(self.address, "connection closed"))
        self._pending.clear()
        if self._socket is not None:
            self._socket.close()

    def send(self, method: str, payload: Any) -> None:
        """A one-way call (queued by ZeroMQ if the server is not there yet)."""
        self._socket.send(encode(FrameKind.SEND, 0, method, payload))

    async def request(self, method: str, payload: Any, timeout: float | None = None) -> Any:
        """Call ``method`` on the server and wait for its answer.

        Raises:
            TransportError: no answer within ``timeout`` seconds.
            FaabricError: the error the server's handler raised, as its own class.
        """
        request_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self._socket.send(encode(FrameKind.REQUEST, request_id, method, payload))
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise TransportError(self.address, f"no answer to {method} within {timeout:g}s") from None
        finally:
            self._pending.pop(request_id, None)

    def _dispatch(self, data: bytes) -> None:
        try:
            kind, request_id, method, payload = decode(data)
        except MalformedFrameError as error:
            log.warning("dropped a frame from %s: %s", self.address, error)
            return
        if kind == FrameKind.SEND:
            self._spawn(self._one_way(method, payload))
            return
        future = self._pending.get(request_id)
        if future is None or future.done():
            return  # the caller gave up waiting
        if kind == FrameKind.REPLY:
            future.set_result(payload)
        elif kind == FrameKind.ERROR:
            future.set_exception(FaabricError.from_wire(payload))

    async def _one_way(self, method: str, payload: Any) -> None:
        try:
            await self._call_handler(method, payload)
        except Exception as error:  # noqa: BLE001
            log.warning("one-way call %s from the server failed: %s", method, error)
