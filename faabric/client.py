"""The Python async API for a real cluster: the same calls as LocalCluster, over the wire.

    async with faabric.connect("tcp://planner:8011") as cluster:
        await cluster.upload("demo", "hello", "hello.wasm")
        result = await cluster.invoke("demo", "hello")
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path
from typing import Iterable

from faabric.cluster import Call, CallResult
from faabric.config import FunctionLimits
from faabric.messages import IdGenerator, Message, new_call
from faabric.remote import RemotePlanner
from faabric.transport.zmq import RpcClient


class RemoteCluster:
    """A connection to a planner process."""

    def __init__(self, planner_address: str, request_timeout: float = 30.0) -> None:
        self.address = planner_address
        self.request_timeout = request_timeout
        self._client = RpcClient(planner_address)
        self._planner = RemotePlanner(self._client, request_timeout)
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
        data = bytes(wasm) if isinstance(wasm, (bytes, bytearray, memoryview)) else Path(wasm).read_bytes()
        payload = {"user": user, "function": function, "wasm": data,
                   "limits": dataclasses.asdict(limits) if limits else None}
        await self._client.request("upload", payload, self.request_timeout)

    async def invoke(
        self,
        user: str,
        function: str,
        input: bytes | str = b"",
        *,
        cmdline: str = "",
        env: dict[str, str] | None = None,
        timeout: float | None = None,
        raise_on_error: bool = True,
    ) -> CallResult:
        """Call a function on the cluster and wait for it (see LocalCluster.invoke)."""
        data = input.encode() if isinstance(input, str) else input
        message = new_call(self.ids, user, function, data, cmdline=cmdline, env=dict(env or {}))
        self._planner.submit([message])
        result = CallResult.from_message(await self._planner.wait_result(message.id, timeout))
        return result.raise_for_error() if raise_on_error else result

    async def invoke_batch(self, calls: Iterable[Call], timeout: float | None = None) -> list[CallResult]:
        """Submit many calls at once and wait for all; failures are in each result's ``error``."""
        messages: list[Message] = [new_call(self.ids, c.user, c.function, c.input, cmdline=c.cmdline) for c in calls]
        self._planner.submit(messages)
        done = await asyncio.gather(*(self._planner.wait_result(m.id, timeout) for m in messages))
        return [CallResult.from_message(m) for m in done]

    async def wait_app(self, app_id: int, expected: int, timeout: float | None = None) -> list[CallResult]:
        """Results of the first ``expected`` calls of app ``app_id`` (chained calls included)."""
        return [CallResult.from_message(m) for m in await self._planner.wait_app(app_id, expected, timeout)]

    async def ping(self, payload: bytes = b"") -> bytes:
        """A round trip to the planner and back."""
        return await self._client.request("ping", payload, self.request_timeout)

    async def status(self) -> dict:
        """Hosts with their used and total slots, queued and running calls, functions."""
        return await self._client.request("status", None, self.request_timeout)


def connect(planner_address: str, request_timeout: float = 30.0) -> RemoteCluster:
    """A :class:`RemoteCluster` for ``async with``."""
    return RemoteCluster(planner_address, request_timeout)
