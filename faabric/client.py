"""The Python async API for a real cluster: the same calls as LocalCluster, over the wire.

    async with faabric.connect("tcp://planner:8011") as cluster:
        await cluster.upload("demo", "hello", "hello.wasm")
        result = await cluster.invoke("demo", "hello")
"""

from __future__ import annotations

import dataclasses
import os

from faabric.api import ClusterAPI, wasm_bytes
from faabric.config import FunctionLimits
from faabric.messages import IdGenerator
from faabric.remote import RemotePlanner
from faabric.transport.zmq import RpcClient


class RemoteCluster(ClusterAPI):
    """A connection to a planner process."""

    def __init__(self, planner_address: str, request_timeout: float = 30.0) -> None:
        self.address = planner_address
        self.request_timeout = request_timeout
        self._client = RpcClient(planner_address)
        self.planner = RemotePlanner(self._client, request_timeout)
        self.ids = IdGenerator()

    async def __aenter__(self) -> "RemoteCluster":
        await self._client.connect()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self._client.close()

    async def upload(
        self, user: str, function: str, wasm: bytes | str | os.PathLike, limits: FunctionLimits | None = None
    ) -> None:
        """Validate and store a function on the planner, for every worker."""
        data = wasm_bytes(wasm)
        payload = {"user": user, "function": function, "wasm": data,
                   "limits": dataclasses.asdict(limits) if limits else None}
        await self._client.request("upload", payload, self.request_timeout)

    async def ping(self, payload: bytes = b"") -> bytes:
        """A round trip to the planner and back."""
        return await self._client.request("ping", payload, self.request_timeout)

    async def status(self) -> dict:
        """Hosts with their used and total slots, queued and running calls, functions."""
        return await self._client.request("status", None, self.request_timeout)


def connect(planner_address: str, request_timeout: float = 30.0) -> RemoteCluster:
    """A :class:`RemoteCluster` for ``async with``."""
    return RemoteCluster(planner_address, request_timeout)
