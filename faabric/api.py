"""What every cluster offers its users: invoke, invoke in batches, MPI worlds, results.

:class:`ClusterAPI` is shared by the embedded :class:`~faabric.cluster.LocalCluster`
and the networked :class:`~faabric.client.RemoteCluster`; they differ only
in how they reach a planner (``self.planner``: in this process, or over the
wire) and in how functions are uploaded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path
from typing import Iterable

from faabric.exceptions import FaabricError
from faabric.messages import IdGenerator, Message, new_call


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


def wasm_bytes(wasm: bytes | bytearray | memoryview | str | os.PathLike) -> bytes:
    """A module given as bytes or as a path, as bytes."""
    return bytes(wasm) if isinstance(wasm, (bytes, bytearray, memoryview)) else Path(wasm).read_bytes()


class ClusterAPI:
    """Invocation on top of a planner: ``submit``, ``wait_result`` and ``wait_app``."""

    planner: object
    ids: IdGenerator

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

    async def wait_app(self, app_id: int, expected: int, timeout: float | None = None) -> list[CallResult]:
        """Results of the first ``expected`` calls of app ``app_id`` (chained calls included)."""
        return [CallResult.from_message(m) for m in await self.planner.wait_app(app_id, expected, timeout)]
