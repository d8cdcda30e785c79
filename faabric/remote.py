"""The planner and worker processes, and how they reach each other over the wire.

A real cluster runs the same :class:`~faabric.planner.planner.Planner` and
:class:`~faabric.host.Host` as the embedded runtime, in separate processes:

* :class:`PlannerService` (``faabric planner``) serves the planner, the
  cluster's function store and uploads over an :class:`RpcServer`, and
  removes hosts that stop sending keep-alives.
* :class:`WorkerService` (``faabric worker``) runs one Host whose planner is
  a :class:`RemotePlanner` and whose functions come from the planner through
  a :class:`RemoteFunctionStore`.
* :class:`RemoteHostHandle` is how the planner hands calls to a worker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
import time
from typing import Any

from faabric.config import FunctionLimits, SystemConfig
from faabric.exceptions import FunctionNotFoundError
from faabric.function_store import FunctionStore, StoredFunction, check_name
from faabric.host import Host
from faabric.messages import IdGenerator, Message
from faabric.planner.planner import Planner
from faabric.state import open_global_tier
from faabric.transport.zmq import RpcClient, RpcServer
from faabric.transport.zmq_peers import ZmqPeers

log = logging.getLogger(__name__)

KEEP_ALIVE_SECONDS = 1.0
FUNCTION_RECHECK_SECONDS = 1.0


def pack_messages(messages: list[Message]) -> list[tuple]:
    return [dataclasses.astuple(message) for message in messages]


def unpack_messages(payload: list) -> list[Message]:
    return [Message(*fields) for fields in payload]


def _limits_to_wire(limits: FunctionLimits | None) -> dict | None:
    return dataclasses.asdict(limits) if limits else None


def _limits_from_wire(data: dict | None) -> FunctionLimits | None:
    return FunctionLimits(**data) if data else None


class RemoteHostHandle:
    """The planner's side of a worker: calls go out as one-way ``execute`` pushes."""

    def __init__(self, server: RpcServer, peer: bytes) -> None:
        self._server = server
        self.peer = peer

    def execute(self, messages: list[Message]) -> None:
        self._server.push(self.peer, "execute", pack_messages(messages))


class PlannerService:
    """The planner process: scheduling, results, the function store, host liveness."""

    def __init__(self, config: SystemConfig, policy: str = "bin-pack", host_timeout: float = 3.0) -> None:
        self.config = config
        self.planner = Planner(policy)
        self.functions = FunctionStore(config.functions_dir)
        self.ids = IdGenerator()
        self.global_tier = open_global_tier(config.redis_url)  # behind the HTTP state API
        self.host_timeout = host_timeout
        self._last_seen: dict[str, float] = {}
        self._engine = None
        self._runtime = None
        self._monitor: asyncio.Task | None = None
        self.server = RpcServer(
            {
                "register_host": self._register_host,
                "keep_alive": self._keep_alive,
                "remove_host": self._remove_host,
                "submit": self._submit,
                "set_results": self._set_results,
                "wait_result": self._wait_result,
                "wait_app": self._wait_app,
                "upload": self._upload,
                "function_version": self._function_version,
                "function_load": self._function_load,
                "status": self._status,
                "ping": self._ping,
            }
        )

    async def start(self, bind: str) -> str:
        """Serve on ``bind`` (``tcp://HOST:PORT``); return the bound address."""
        address = await self.server.start(bind)
        self._monitor = asyncio.ensure_future(self._watch_hosts())
        log.info("planner serving on %s", address)
        return address

    async def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            await asyncio.gather(self._monitor, return_exceptions=True)
        await self.server.stop()
        if self._engine is not None:
            self._runtime.close()
            self._engine.close()
        self.global_tier.close()
        log.info("planner stopped")

    async def _watch_hosts(self) -> None:
        while True:
            await asyncio.sleep(self.host_timeout / 4)
            now = time.monotonic()
            for host_id, seen in list(self._last_seen.items()):
                if now - seen > self.host_timeout:
                    del self._last_seen[host_id]
                    self.planner.remove_host(host_id, f"no keep-alive for {self.host_timeout:g}s")

    # Handlers: each takes the peer's identity and the payload. ----------------

    def _register_host(self, peer: bytes, payload: dict) -> bool:
        host_id = payload["host_id"]
        self.planner.register_host(host_id, int(payload["slots"]), RemoteHostHandle(self.server, peer))
        self._last_seen[host_id] = time.monotonic()
        return True

    def _keep_alive(self, peer: bytes, payload: dict) -> None:
        host_id = payload["host_id"]
        if host_id in self._last_seen:
            self._last_seen[host_id] = time.monotonic()
        else:  # a worker this planner does not know (it restarted, or dropped the host): ask it to join again
            log.info("keep-alive from unknown host %s: asking it to register", host_id)
            self.server.push(peer, "register_again", None)

    def _remove_host(self, peer: bytes, payload: dict) -> None:
        self._last_seen.pop(payload["host_id"], None)
        self.planner.remove_host(payload["host_id"], payload.get("reason", "host left"))

    def _submit(self, peer: bytes, payload: list) -> None:
        self.planner.submit(unpack_messages(payload))

    def _set_results(self, peer: bytes, payload: list) -> None:
        self.planner.set_results(unpack_messages(payload))

    async def _wait_result(self, peer: bytes, payload: dict) -> tuple:
        message = await self.planner.wait_result(payload["id"], payload.get("timeout"))
        return dataclasses.astuple(message)

    async def _wait_app(self, peer: bytes, payload: dict) -> list:
        messages = await self.planner.wait_app(payload["app_id"], payload["expected"], payload.get("timeout"))
        return pack_messages(messages)

    async def _upload(self, peer: bytes, payload: dict) -> bool:
        await self.upload(payload["user"], payload["function"], payload["wasm"], _limits_from_wire(payload.get("limits")))
        return True

    async def upload(self, user: str, function: str, wasm: bytes, limits: FunctionLimits | None = None) -> None:
        """Validate (compile) a function and store it for every worker."""
        check_name("user", user)
        check_name("function", function)
        runtime = self._validator()
        await asyncio.get_running_loop().run_in_executor(
            None, runtime.validate, user, function, wasm, limits or self.config.limits
        )
        self.functions.save(user, function, wasm, limits)
        log.info("uploaded %s/%s (%d bytes)", user, function, len(wasm))

    def _validator(self):
        if self._runtime is None:
            from granules.engine import WasmEngine
            from granules.runtime import WasmRuntime

            self._engine = WasmEngine(self.config.cache_dir)
            self._runtime = WasmRuntime(self._engine, self.functions, self.config)
        return self._runtime

    def _function_version(self, peer: bytes, payload: dict) -> list:
        return list(self.functions.version(payload["user"], payload["function"]))

    def _function_load(self, peer: bytes, payload: dict) -> dict:
        stored = self.functions.load(payload["user"], payload["function"])
        return {"wasm": stored.wasm, "limits": _limits_to_wire(stored.limits)}

    def _ping(self, peer: bytes, payload: Any) -> Any:
        return payload

    def _status(self, peer: bytes, payload: Any) -> dict:
        return self.status()

    def status(self) -> dict:
        stats = self.planner.statistics()
        return {
            "hosts": {host: {"used": used, "slots": slots} for host, (used, slots) in stats.hosts.items()},
            "queued": stats.queued,
            "running": stats.running,
            "functions": [f"{user}/{function}" for user, function in self.functions.list()],
        }


class RemotePlanner:
    """A worker's view of the planner: the same calls as :class:`Planner`, sent over the wire."""

    def __init__(self, client: RpcClient, request_timeout: float = 30.0) -> None:
        self.client = client
        self.request_timeout = request_timeout

    async def register_host(self, host_id: str, slots: int, handle) -> None:
        await self.client.request("register_host", {"host_id": host_id, "slots": slots}, self.request_timeout)

    def remove_host(self, host_id: str, reason: str = "host stopped") -> None:
        self.client.send("remove_host", {"host_id": host_id, "reason": reason})

    def submit(self, messages: list[Message]) -> None:
        self.client.send("submit", pack_messages(messages))

    def set_results(self, messages: list[Message]) -> None:
        self.client.send("set_results", pack_messages(messages))

    async def capacity(self) -> int:
        status = await self.client.request("status", None, self.request_timeout)
        return sum(host["slots"] for host in status["hosts"].values())

    async def wait_result(self, message_id: int, timeout: float | None = None) -> Message:
        wire_timeout = None if timeout is None else timeout + self.request_timeout
        fields = await self.client.request("wait_result", {"id": message_id, "timeout": timeout}, wire_timeout)
        return Message(*fields)

    async def wait_app(self, app_id: int, expected: int, timeout: float | None = None) -> list[Message]:
        wire_timeout = None if timeout is None else timeout + self.request_timeout
        payload = {"app_id": app_id, "expected": expected, "timeout": timeout}
        return unpack_messages(await self.client.request("wait_app", payload, wire_timeout))


class RemoteFunctionStore:
    """The planner's function store as seen from a worker, cached locally.

    Its methods block: call them from worker threads, never from the loop.
    """

    def __init__(self, client: RpcClient, loop: asyncio.AbstractEventLoop, timeout: float = 30.0) -> None:
        self._client = client
        self._loop = loop
        self._timeout = timeout
        self.generation = 0
        self._loaded: dict[tuple[str, str], tuple[tuple, StoredFunction]] = {}
        self._known: dict[tuple[str, str], float] = {}

    def _request(self, method: str, payload: dict) -> Any:
        future = asyncio.run_coroutine_threadsafe(self._client.request(method, payload, self._timeout), self._loop)
        return future.result()

    def version(self, user: str, function: str) -> tuple:
        return tuple(self._request("function_version", {"user": user, "function": function}))

    def exists(self, user: str, function: str) -> bool:
        key = (user, function)
        seen = self._known.get(key)
        if seen is not None and time.monotonic() - seen < FUNCTION_RECHECK_SECONDS:
            return True
        try:
            self.version(user, function)
        except FunctionNotFoundError:
            return False
        self._known[key] = time.monotonic()
        return True

    def load(self, user: str, function: str) -> StoredFunction:
        key = (user, function)
        version = self.version(user, function)
        cached = self._loaded.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        data = self._request("function_load", {"user": user, "function": function})
        stored = StoredFunction(data["wasm"], _limits_from_wire(data["limits"]))
        self._loaded[key] = (version, stored)
        return stored


def default_host_id(advertise: str | None = None) -> str:
    return f"{advertise or socket.gethostname()}-{os.getpid()}"


class WorkerService:
    """A worker process: one Host serving calls the planner hands it."""

    def __init__(
        self, config: SystemConfig, planner_address: str, host_id: str | None = None,
        peers: tuple[str, int, str] = ("127.0.0.1", 0, "127.0.0.1"),
    ) -> None:
        """``peers`` is ``(bind host, port, advertised host)`` of the channel other workers send MPI traffic to."""
        self.config = config
        self.planner_address = planner_address
        self.host_id = host_id or default_host_id()
        self._peers = peers
        self.client = RpcClient(planner_address, {"execute": self._execute, "register_again": self._register_again})
        self.host: Host | None = None
        self._engine = None
        self._keep_alive: asyncio.Task | None = None

    async def start(self) -> None:
        from faabric.cluster import wasm_runtime_factory
        from granules.engine import WasmEngine

        loop = asyncio.get_running_loop()
        await self.client.connect()
        self._engine = await loop.run_in_executor(None, WasmEngine, self.config.cache_dir)
        functions = RemoteFunctionStore(self.client, loop)
        bind, port, advertise = self._peers
        peers = ZmqPeers(bind, port, advertise)
        self.host = Host(
            self.config, RemotePlanner(self.client), wasm_runtime_factory(self._engine), self.host_id, functions,
            peers=peers,
        )
        await self.host.start()
        self._keep_alive = asyncio.ensure_future(self._send_keep_alives())
        log.info(
            "worker %s joined %s with %d slots; peers reach it at %s",
            self.host_id, self.planner_address, self.config.slots, peers.address,
        )

    async def stop(self) -> None:
        if self._keep_alive is not None:
            self._keep_alive.cancel()
            await asyncio.gather(self._keep_alive, return_exceptions=True)
        if self.host is not None:
            await self.host.stop()
            await asyncio.sleep(0.05)  # let the goodbye reach the planner
        await self.client.close()
        if self._engine is not None:
            self._engine.close()
        log.info("worker %s stopped", self.host_id)

    async def _send_keep_alives(self) -> None:
        while True:
            self.client.send("keep_alive", {"host_id": self.host_id})
            await asyncio.sleep(KEEP_ALIVE_SECONDS)

    def _execute(self, payload: list) -> None:
        self.host.execute(unpack_messages(payload))

    async def _register_again(self, payload: Any) -> None:
        """The planner lost track of this host (it restarted, or timed the host out): join again."""
        await self.host.planner.register_host(self.host_id, self.config.slots, self.host)
        log.info("worker %s registered again with %s", self.host_id, self.planner_address)
