"""A host: the slots of one machine, running calls on worker threads.

A :class:`Host` owns its function store, its thread pool and its executor
(the wasm runtime); nothing is global, so several hosts can share a process.
It is an actor on the event loop: the planner gives it calls with
:meth:`Host.execute`, and each finished call goes back to the planner.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import inspect
import logging
import time
from typing import Callable

from faabric.allocator import keep_large_buffers_in_arenas
from faabric.config import SystemConfig
from faabric.exceptions import FaabricError, FunctionNotFoundError
from faabric.executor import Executor, GranulePool
from faabric.function_store import FunctionStore
from faabric.messages import IdGenerator, Message, new_call
from faabric.mpi.registry import WorldRegistry
from faabric.state import GlobalTier, LocalState, open_global_tier
from faabric.transport.peers import PeerChannel

log = logging.getLogger(__name__)


class Host:
    """One machine's worth of slots, serving calls from a planner."""

    def __init__(
        self,
        config: SystemConfig,
        planner,
        executor_factory: Callable[["Host"], Executor],
        host_id: str,
        functions: FunctionStore | None = None,
        global_tier: GlobalTier | None = None,
        peers: PeerChannel | None = None,
    ) -> None:
        self.id = host_id
        self.config = config
        keep_large_buffers_in_arenas()
        self.planner = planner
        self.functions = functions or FunctionStore(config.functions_dir)
        self.ids = IdGenerator()
        self.pool = GranulePool(config.cores, config.slots, name=self.id)
        self.executor = executor_factory(self)
        # The local state tier; its global tier is shared if given, else chosen from the config.
        self.state = LocalState(global_tier or open_global_tier(config.redis_url), owns_global_tier=global_tier is None)
        self.peers = peers  # the channel to other hosts (MPI worlds spanning hosts), owned by this host
        self.mpi_worlds = WorldRegistry(peers)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._finished: collections.deque[Message] = collections.deque()
        self._flush_scheduled = False

    async def start(self) -> None:
        """Join the planner with this host's slots."""
        self.loop = asyncio.get_running_loop()
        registered = self.planner.register_host(self.id, self.config.slots, self)
        if inspect.isawaitable(registered):  # a planner in another process answers
            await registered

    async def stop(self) -> None:
        """Leave the planner, finish running calls and release the executor."""
        removed = self.planner.remove_host(self.id, "host stopped")
        if inspect.isawaitable(removed):
            await removed
        await asyncio.get_running_loop().run_in_executor(None, self.pool.shutdown)
        self.executor.close()
        self.state.close()
        if self.peers is not None:
            self.peers.close()

    def execute(self, messages: list[Message]) -> None:
        """Start ``messages`` on worker threads (called on the event loop)."""
        for message in messages:
            self.pool.submit(self._run, message)

    def _run(self, message: Message) -> None:
        message.start_ns = time.time_ns()
        context = CallContext(self, message)
        try:
            try:
                self.executor.execute(message, context)
            finally:
                context.finish()
        except FaabricError as error:
            message.error = error.to_wire()
        except Exception as error:  # a bug in the runtime: report it, keep serving
            log.exception("call %s of %s failed inside the runtime", message.id, message.name)
            message.error = {"kind": "InternalError", "message": f"{type(error).__name__}: {error}", "fields": {}}
        message.finish_ns = time.time_ns()
        message.executed_host = self.id
        self._finished.append(message)
        if not self._flush_scheduled:  # one loop wake-up carries every result finished meanwhile
            self._flush_scheduled = True
            self.loop.call_soon_threadsafe(self._flush_results)

    def _flush_results(self) -> None:
        self._flush_scheduled = False  # before draining, so no result is left behind
        finished = self._finished
        batch = [finished.popleft() for _ in range(len(finished))]
        if batch:
            self.planner.set_results(batch)


class CallContext:
    """What a running call may ask of its host, from its worker thread."""

    __slots__ = ("host", "message", "_on_finish")

    def __init__(self, host: Host, message: Message) -> None:
        self.host = host
        self.message = message
        self._on_finish: list[Callable[[], None]] = []

    def on_finish(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the call ends, however it ends (e.g. release its locks)."""
        self._on_finish.append(callback)

    def finish(self) -> None:
        """Run the ``on_finish`` callbacks, newest first."""
        while self._on_finish:
            callback = self._on_finish.pop()
            try:
                callback()
            except Exception:
                log.exception("cleanup after call %s failed", self.message.id)

    def chain(self, function: str, input: bytes, func_ptr: int = 0, **fields) -> int:
        """Submit a call of ``function`` (same user and app); return its id.

        ``fields`` sets further :class:`Message` fields (MPI rank, group...).

        Raises:
            FunctionNotFoundError: no such function is uploaded.
        """
        return self.chain_many([(function, input, func_ptr, fields)])[0]

    def chain_many(self, calls: list[tuple[str, bytes, int, dict]]) -> list[int]:
        """Submit several chained calls at once, as one batch for the planner.

        Each entry is ``(function, input, func_ptr, fields)``; returns their ids.
        """
        user = self.message.user
        messages = []
        for function, input, func_ptr, fields in calls:
            if not self.host.functions.exists(user, function):
                raise FunctionNotFoundError(user, function)
            messages.append(
                new_call(
                    self.host.ids, user, function, input,
                    app_id=self.message.app_id, cmdline=self.message.cmdline, func_ptr=func_ptr, **fields,
                )
            )
        self.host.loop.call_soon_threadsafe(self.host.planner.submit, messages)
        return [message.id for message in messages]

    def await_result(self, message_id: int, timeout: float | None = None) -> Message:
        """Block this worker (without holding a CPU permit) until call ``message_id`` finishes."""
        timeout = self.host.config.chained_call_timeout if timeout is None else timeout
        with self.host.pool.blocking():
            future = asyncio.run_coroutine_threadsafe(
                self.host.planner.wait_result(message_id, timeout), self.host.loop
            )
            return future.result()

    def result_future(self, message_id: int, timeout: float | None = None) -> concurrent.futures.Future[Message]:
        """A future of call ``message_id``'s result, to wait for many calls at once (OpenMP threads elsewhere)."""
        timeout = self.host.config.chained_call_timeout if timeout is None else timeout
        return asyncio.run_coroutine_threadsafe(self.host.planner.wait_result(message_id, timeout), self.host.loop)

    def conf_flag(self, name: str) -> bool:
        return name in self.host.config.conf_flags
