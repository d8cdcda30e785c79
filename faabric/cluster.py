"""The embedded runtime and the Python async API.

:class:`LocalCluster` runs a planner and one or more hosts in this process,
on the running event loop: the same planner and host code that runs as
separate processes in a real cluster. It is the default: nothing to start,
no servers to configure.

    async with faabric.LocalCluster(hosts=1) as cluster:
        await cluster.upload("demo", "hello", "hello.wasm")
        result = await cluster.invoke("demo", "hello", input=b"x")
        await cluster.state("demo").set("weights", bytes(64))  # what its granules see

The hosts share one global state tier: Redis with ``redis_url`` (or
``FAABRIC_REDIS``), else in memory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shlex
from pathlib import Path
from typing import Sequence

from faabric.api import Call, CallResult, ClusterAPI, wasm_bytes  # noqa: F401 - Call and CallResult are API here too
from faabric.config import FunctionLimits, SystemConfig
from faabric.function_store import FunctionStore, check_name
from faabric.host import Host
from faabric.messages import IdGenerator
from faabric.planner.planner import Planner
from faabric.state import open_global_tier
from faabric.state.client import StateClient
from faabric.transport.peers import Switchboard


def wasm_runtime_factory(engine):
    from granules.runtime import WasmRuntime

    return lambda host: WasmRuntime(engine, host.functions, host.config)


class LocalCluster(ClusterAPI):
    """A planner and ``hosts`` hosts in this process (the embedded runtime)."""

    def __init__(
        self, hosts: int = 1, config: SystemConfig | None = None, policy: str = "bin-pack", redis_url: str | None = None
    ) -> None:
        self.config = config or SystemConfig.from_env()
        if redis_url is not None:  # the global state tier; else the config's, else in memory
            self.config = dataclasses.replace(self.config, redis_url=redis_url)
        self.global_tier = None
        self.planner = Planner(policy)
        self.functions = FunctionStore(self.config.functions_dir)
        self.ids = IdGenerator()
        self._host_count = hosts
        self.hosts: list[Host] = []
        self.engine = None

    async def start(self) -> "LocalCluster":
        from granules.engine import WasmEngine

        loop = asyncio.get_running_loop()
        self.global_tier = open_global_tier(self.config.redis_url)  # one, shared by every host
        try:
            await loop.run_in_executor(None, self.global_tier.ping)  # a bad Redis URL fails here
        except BaseException:
            self.global_tier.close()
            self.global_tier = None
            raise
        self.engine = await loop.run_in_executor(None, WasmEngine, self.config.cache_dir)
        factory = wasm_runtime_factory(self.engine)
        switchboard = Switchboard() if self._host_count > 1 else None  # hosts reach each other in-process
        for number in range(1, self._host_count + 1):
            host = Host(
                self.config, self.planner, factory, host_id=f"local-{number}", functions=self.functions,
                global_tier=self.global_tier, peers=switchboard.channel() if switchboard else None,
            )
            await host.start()
            self.hosts.append(host)
        return self

    async def stop(self) -> None:
        for host in self.hosts:
            await host.stop()
        self.hosts.clear()
        if self.engine is not None:
            self.engine.close()
            self.engine = None
        if self.global_tier is not None:
            self.global_tier.close()
            self.global_tier = None

    async def __aenter__(self) -> "LocalCluster":
        return await self.start()

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()

    def state(self, user: str, host: int = 0) -> StateClient:
        """The async state API of ``user`` on host number ``host`` (its local tier)."""
        check_name("user", user)
        return StateClient(self.hosts[host].state, user)

    async def upload(
        self, user: str, function: str, wasm: bytes | bytearray | str | os.PathLike, limits: FunctionLimits | None = None
    ) -> None:
        """Validate, compile and store a function.

        Raises:
            InvalidFunctionError: the bytes are not a runnable module.
            ConfigError: a bad user or function name.
        """
        check_name("user", user)
        check_name("function", function)
        data = wasm_bytes(wasm)
        runtime = self.hosts[0].executor
        await asyncio.get_running_loop().run_in_executor(
            None, runtime.validate, user, function, data, limits or self.config.limits
        )
        self.functions.save(user, function, data, limits)

    async def run(
        self, wasm: bytes | bytearray | str | os.PathLike, input: bytes | str = b"", *, args: Sequence[str] = (), user: str = "local"
    ) -> CallResult:
        """Upload a module under a name derived from its file, then invoke it once."""
        name = "program" if isinstance(wasm, (bytes, bytearray, memoryview)) else Path(wasm).stem
        name = "".join(ch if ch.isalnum() or ch in "_.-" else "_" for ch in name) or "program"
        await self.upload(user, name, wasm)
        return await self.invoke(user, name, input, cmdline=shlex.join(args))

