"""Running calls on threads: the contract between a host and what executes calls.

A :class:`Host` knows nothing about wasm. It hands each :class:`Message` to
an :class:`Executor` (the wasm runtime in ``granules`` implements it) on a
worker thread of a :class:`GranulePool`. The pool keeps ``cores`` threads
taking calls; while a call waits for something (a chained call's result, an
MPI message) inside :meth:`GranulePool.blocking`, another thread takes its
place, so calls that wait for each other never deadlock the pool and
waiting never burns a core.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING, Callable, Protocol

from faabric.messages import Message

if TYPE_CHECKING:
    from faabric.host import CallContext

log = logging.getLogger(__name__)


class Executor(Protocol):
    """Runs one call to completion, filling in the message's result fields."""

    def execute(self, message: Message, context: "CallContext") -> None: ...

    def close(self) -> None: ...


class GranulePool:
    """About ``cores`` worker threads running calls, plus stand-ins for waiting ones.

    Fewer threads means less contention for the GIL on the Python parts of a
    call; stand-ins keep the pool busy while calls wait. A thread that finds
    the pool over strength after its call (a waiter woke up) retires.
    """

    def __init__(self, cores: int, max_threads: int, name: str) -> None:
        self.cores = cores
        self._max_threads = max(cores, max_threads)
        self._name = name
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._blocked = 0
        self._closed = False
        self._blocking = _Blocking(self)  # one object serves every waiter: it holds no state of its own
        with self._lock:
            for _ in range(cores):
                self._spawn()

    def _spawn(self) -> None:
        thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True)
        self._threads.add(thread)
        thread.start()

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            job = self._jobs.get()
            if job is None:
                break
            fn, args = job
            try:
                fn(*args)
            except BaseException:  # noqa: B036 - a worker must survive any job
                log.exception("job %s failed on %s", fn, me.name)
            with self._lock:
                if len(self._threads) - self._blocked > self.cores:
                    break  # over strength: a stand-in's waiter is back
        with self._lock:
            self._threads.discard(me)

    def submit(self, fn: Callable, *args) -> None:
        """Run ``fn(*args)`` on a worker thread."""
        if self._closed:
            raise RuntimeError("pool is shut down")
        self._jobs.put((fn, args))

    def blocking(self) -> "_Blocking":
        """A context in which the calling worker waits; a stand-in thread takes its place."""
        return self._blocking

    def _enter_blocking(self) -> None:
        with self._lock:
            self._blocked += 1
            running = len(self._threads) - self._blocked
            if running < self.cores and len(self._threads) < self._max_threads and not self._closed:
                self._spawn()

    def _exit_blocking(self) -> None:
        with self._lock:
            self._blocked -= 1

    def shutdown(self, timeout: float = 30.0) -> None:
        """Finish queued calls, then stop every thread."""
        self._closed = True
        with self._lock:
            threads = list(self._threads)
        for _ in range(len(threads) + self._max_threads):
            self._jobs.put(None)
        for thread in threads:
            thread.join(timeout)


class _Blocking:
    """``with pool.blocking():`` (a plain class: cheaper than a generator context on hot MPI paths)."""

    __slots__ = ("_pool",)

    def __init__(self, pool: GranulePool) -> None:
        self._pool = pool

    def __enter__(self) -> None:
        self._pool._enter_blocking()

    def __exit__(self, *exc_info) -> None:
        self._pool._exit_blocking()
