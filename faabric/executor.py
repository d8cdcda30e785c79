"""Running calls on threads: the contract between a host and what executes calls.

A :class:`Host` knows nothing about wasm. It hands each :class:`Message` to
an :class:`Executor` (the wasm runtime in ``granules`` implements it) on a
worker thread, through a :class:`GranulePool`. While a call waits for
something (a chained call's result, an MPI message), it leaves its CPU
permit so another call can run: the pool runs at most ``cores`` calls at
once, but never deadlocks on calls that wait for each other.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import queue
from typing import TYPE_CHECKING, Iterator, Protocol

from faabric.messages import Message

if TYPE_CHECKING:
    from faabric.host import CallContext


class Executor(Protocol):
    """Runs one call to completion, filling in the message's result fields."""

    def execute(self, message: Message, context: "CallContext") -> None: ...

    def close(self) -> None: ...


class GranulePool:
    """Worker threads for calls, with at most ``cores`` of them running at once."""

    def __init__(self, cores: int, max_threads: int, name: str) -> None:
        self._threads = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_threads, thread_name_prefix=name
        )
        # CPU permits as tokens in a C-implemented queue: cheaper than a Semaphore.
        self._permits: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(cores):
            self._permits.put(None)
        self.cores = cores

    def submit(self, fn, *args) -> concurrent.futures.Future:
        """Run ``fn(*args)`` on a worker thread once a CPU permit is free."""
        return self._threads.submit(self._with_permit, fn, *args)

    def _with_permit(self, fn, *args):
        self._permits.get()
        try:
            return fn(*args)
        finally:
            self._permits.put(None)

    @contextlib.contextmanager
    def blocking(self) -> Iterator[None]:
        """Give up the caller's CPU permit while it waits; take it back after."""
        self._permits.put(None)
        try:
            yield
        finally:
            self._permits.get()

    def shutdown(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)
