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
from typing import Iterable, Sequence

from faabric.config import FunctionLimits, SystemConfig
from faabric.exceptions import FaabricError
from faabric.function_store import FunctionStore, check_name
from faabric.host import Host
from faabric.messages import IdGenerator, Message, new_call
from faabric.planner.planner import Planner
from faabric.state import open_global_tier
from faabric.state.client import StateClient


@dataclasses.dataclass(frozen=True)
class CallResult:
    """What one call returned, printed and took.

    Attributes:
        error: the typed exception the call failed with, or None.
        queue_ms, run_ms: time waiting for a slot, and time running.
        ranks: for an MPI invocation, every rank's own result, by rank.
    """

    id: int
    app_id: int
    function: str
    return_value: int | None
    output: bytes
    stdout: bytes
    stderr: bytes
    host: str
    queue_ms: float
    run_ms: float
    error: FaabricError | None
    ranks: tuple["CallResult", ...] = ()

    @classmethod
    def from_message(cls, message: Message) -> "CallResult":
        error = FaabricError.from_wire(message.error) if message.error else None
        started = message.start_ns or message.finish_ns
        return cls(
            id=message.id,
            app_id=message.app_id,
            function=message.name,
            return_value=message.return_value,
            output=message.output,
            stdout=message.stdout,
            stderr=message.stderr,
            host=message.executed_host,
            queue_ms=max(0, started - message.submitted_ns) / 1e6,
            run_ms=max(0, message.finish_ns - started) / 1e6,
            error=error,
        )

    def raise_for_error(self) -> "CallResult":
        """Raise the call's typed error, if it failed; else return self."""
        if self.error is not None:
            raise self.error
        return self


@dataclasses.dataclass(frozen=True)
class Call:
    """One call for :meth:`LocalCluster.invoke_batch`."""

    user: str
    function: str
    input: bytes = b""
    cmdline: str = ""


def wasm_runtime_factory(engine):
    from granules.runtime import WasmRuntime

    return lambda host: WasmRuntime(engine, host.functions, host.config)


class LocalCluster:
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
        for number in range(1, self._host_count + 1):
            host = Host(
                self.config, self.planner, factory, host_id=f"local-{number}", functions=self.functions,
                global_tier=self.global_tier,
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
        data = bytes(wasm) if isinstance(wasm, (bytes, bytearray, memoryview)) else Path(wasm).read_bytes()
        runtime = self.hosts[0].executor
        await asyncio.get_running_loop().run_in_executor(
            None, runtime.validate, user, function, data, limits or self.config.limits
        )
        self.functions.save(user, function, data, limits)

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
        mpi_world_size: int = 0,
    ) -> CallResult:
        """Call a function and wait for it.

        With ``raise_on_error=False`` a failed call's error is in the result instead.
        With ``mpi_world_size`` N >= 1 the call is rank 0 of an MPI world: its
        ``MPI_Init`` starts ranks 1..N-1; the result is rank 0's, with every
        rank's result in ``ranks`` and, if any rank failed, the error of the
        rank that failed first (not of the ranks stopped because of it).

        Raises:
            FunctionNotFoundError, InvalidFunctionError, GuestTrap,
            GranuleTimeoutError, GranuleOutOfMemoryError: the call failed so.
            CallTimeoutError: no result within ``timeout`` seconds.
        """
        data = input.encode() if isinstance(input, str) else input
        message = new_call(
            self.ids, user, function, data, cmdline=cmdline, env=dict(env or {}), mpi_world_size=mpi_world_size
        )
        self.planner.submit([message])
        done = await self.planner.wait_result(message.id, timeout)
        result = CallResult.from_message(done)
        if mpi_world_size >= 1 and done.mpi_world_id:
            result = await self._mpi_result(done, timeout)
        return result.raise_for_error() if raise_on_error else result

    async def _mpi_result(self, rank_zero: Message, timeout: float | None) -> CallResult:
        """Wait for every rank of rank 0's world; rank 0's result with ``ranks`` and the first failure."""
        size, world = rank_zero.mpi_world_size, rank_zero.mpi_world_id
        while True:
            done = await self.planner.wait_app(rank_zero.app_id, size, timeout)
            ranks = {m.mpi_rank: m for m in done if m.mpi_world_id == world}
            if len(ranks) >= size:
                break
            size = rank_zero.mpi_world_size + len(done) - len(ranks)  # other calls of the app finished too
        results = tuple(CallResult.from_message(ranks[rank]) for rank in sorted(ranks))
        failed = [(ranks[i].finish_ns, i, r) for i, r in enumerate(results) if r.error is not None]
        error = None
        if failed:
            causes = [f for f in failed if type(f[2].error).__name__ != "MpiWorldFailedError"] or failed
            _, rank, first = min(causes)
            error = first.error
            if getattr(error, "rank", -1) < 0 or not str(error).startswith("MPI"):
                error.args = (f"rank {rank} of MPI world {world}: {error}",)
            error.mpi_rank = rank
        return dataclasses.replace(results[0], error=error, ranks=results)

    async def invoke_batch(self, calls: Iterable[Call], timeout: float | None = None) -> list[CallResult]:
        """Submit many calls at once and wait for all; failures are in each result's ``error``."""
        messages = [new_call(self.ids, c.user, c.function, c.input, cmdline=c.cmdline) for c in calls]
        self.planner.submit(messages)
        done = await asyncio.gather(*(self.planner.wait_result(m.id, timeout) for m in messages))
        return [CallResult.from_message(m) for m in done]

    async def run(
        self, wasm: bytes | bytearray | str | os.PathLike, input: bytes | str = b"", *, args: Sequence[str] = (), user: str = "local"
    ) -> CallResult:
        """Upload a module under a name derived from its file, then invoke it once."""
        name = "program" if isinstance(wasm, (bytes, bytearray, memoryview)) else Path(wasm).stem
        name = "".join(ch if ch.isalnum() or ch in "_.-" else "_" for ch in name) or "program"
        await self.upload(user, name, wasm)
        return await self.invoke(user, name, input, cmdline=shlex.join(args))

