"""The planner: knows the hosts, places calls on their slots, and stores results.

The planner is an actor: all its methods run on one event loop, and its
state is touched only there. Hosts reach it through the same four calls
whether they live in this process or across a network: ``register_host``,
``submit``, ``set_result`` and ``wait_result``.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import time
from typing import Protocol

from faabric.exceptions import CallTimeoutError, HostLostError, SchedulingError, UnknownCallError
from faabric.messages import Message
from faabric.planner.policies import POLICIES, Policy

log = logging.getLogger(__name__)


class HostHandle(Protocol):
    """How the planner hands calls to a host."""

    def execute(self, messages: list[Message]) -> None: ...


@dataclasses.dataclass
class _HostRecord:
    handle: HostHandle
    slots: int
    used: int = 0


@dataclasses.dataclass(frozen=True)
class PlannerStatistics:
    hosts: dict[str, tuple[int, int]]  # host -> (used slots, total slots)
    queued: int
    running: int
    results_kept: int


class Planner:
    """Host registry, scheduler and result store of one cluster."""

    def __init__(self, policy: str | Policy = "bin-pack", results_kept: int = 100_000) -> None:
        if isinstance(policy, str):
            if policy not in POLICIES:
                raise SchedulingError(f"unknown policy {policy!r}; choose from {sorted(POLICIES)}")
            policy = POLICIES[policy]
        self._policy = policy
        self._hosts: dict[str, _HostRecord] = {}
        self._queue: collections.deque[Message] = collections.deque()
        self._pinned: dict[str, collections.deque[Message]] = {}  # host id -> calls waiting for it
        self._running: dict[int, tuple[str, Message]] = {}  # message id -> (host id, the call)
        self._queued_ids: set[int] = set()
        self._results: collections.OrderedDict[int, Message] = collections.OrderedDict()
        self._results_kept = results_kept
        self._waiters: dict[int, list[asyncio.Future]] = {}
        self._app_results: dict[int, list[Message]] = {}
        self._app_waiters: dict[int, list[tuple[int, asyncio.Future]]] = {}

    # Hosts -----------------------------------------------------------------

    def register_host(self, host_id: str, slots: int, handle: HostHandle) -> None:
        """Add (or refresh) a host with ``slots`` slots."""
        record = self._hosts.get(host_id)
        if record is None:
            self._hosts[host_id] = _HostRecord(handle, slots)
            log.info("host %s registered with %d slots", host_id, slots)
        else:
            record.handle, record.slots = handle, slots
        self._dispatch()

    def remove_host(self, host_id: str, reason: str = "removed") -> None:
        """Forget a host; its running calls fail with :class:`HostLostError`."""
        if self._hosts.pop(host_id, None) is None:
            return
        lost = [message for host, message in self._running.values() if host == host_id]
        level = logging.WARNING if lost else logging.INFO
        log.log(level, "host %s removed (%s); %d running calls lost", host_id, reason, len(lost))
        error = HostLostError(host_id, reason).to_wire()
        for message in lost:
            del self._running[message.id]
            self._store(dataclasses.replace(message, error=error, executed_host=host_id, finish_ns=time.time_ns()))
        for message in self._pinned.pop(host_id, ()):
            self._queued_ids.discard(message.id)
            message.error, message.finish_ns = error, 1
            self._store(message)

    # Calls -----------------------------------------------------------------

    def submit(self, messages: list[Message]) -> None:
        """Queue calls; they start as soon as slots are free.

        A call with ``pin_host`` set waits for a slot on that host only; if the
        host is not in the cluster, the call fails with :class:`HostLostError`.
        A call with ``prefer_host`` starts there if it has a free slot now (an
        MPI world's ranks near rank 0), else goes where the policy says.
        """
        preferred: dict[str, list[Message]] = {}
        for message in messages:
            record = self._hosts.get(message.prefer_host) if message.prefer_host else None
            if record is not None and record.used + len(preferred.get(message.prefer_host, ())) < record.slots:
                preferred.setdefault(message.prefer_host, []).append(message)
            elif message.pin_host:
                if message.pin_host not in self._hosts:
                    lost = HostLostError(message.pin_host, "the call is pinned to a host not in the cluster")
                    message.error, message.finish_ns = lost.to_wire(), 1
                    self._store(message)
                    continue
                self._pinned.setdefault(message.pin_host, collections.deque()).append(message)
            else:
                self._queue.append(message)
            self._queued_ids.add(message.id)
        for host_id, batch in preferred.items():
            self._start(host_id, batch)
        self._dispatch()

    def _dispatch(self) -> None:
        if self._pinned:
            for host_id, waiting in list(self._pinned.items()):
                record = self._hosts[host_id]
                self._start(host_id, [waiting.popleft() for _ in range(min(record.slots - record.used, len(waiting)))])
                if not waiting:
                    del self._pinned[host_id]
        if not self._queue:
            return
        free = {host: r.slots - r.used for host, r in self._hosts.items() if r.slots > r.used}
        if not free:
            return
        placement = self._policy(free, len(self._queue))
        for host_id, count in placement.items():
            self._start(host_id, [self._queue.popleft() for _ in range(min(count, len(self._queue)))])

    def _start(self, host_id: str, batch: list[Message]) -> None:
        if not batch:
            return
        for message in batch:
            self._queued_ids.discard(message.id)
            self._running[message.id] = (host_id, message)
        record = self._hosts[host_id]
        record.used += len(batch)
        record.handle.execute(batch)

    def set_result(self, message: Message) -> None:
        """Record a finished call, free its slot and wake whoever waits for it."""
        host_id, _ = self._running.pop(message.id, (None, None))
        record = self._hosts.get(host_id) if host_id else None
        if record is not None:
            record.used -= 1
        self._store(message)
        self._dispatch()

    def set_results(self, messages: list[Message]) -> None:
        """:meth:`set_result` for a batch."""
        for message in messages:
            self.set_result(message)

    def _store(self, message: Message) -> None:
        self._results[message.id] = message
        if len(self._results) > self._results_kept:
            evicted = self._results.popitem(last=False)[1]
            self._app_results.pop(evicted.app_id, None)
        for waiter in self._waiters.pop(message.id, ()):
            if not waiter.done():
                waiter.set_result(message)
        if message.app_id:
            app = self._app_results.setdefault(message.app_id, [])
            app.append(message)
            waiting = self._app_waiters.get(message.app_id)
            if waiting:
                for expected, waiter in list(waiting):
                    if len(app) >= expected and not waiter.done():
                        waiter.set_result(list(app))
                        waiting.remove((expected, waiter))

    def app_results(self, app_id: int) -> list[Message]:
        """Every finished message of app ``app_id`` so far (calls it chained included)."""
        return list(self._app_results.get(app_id, ()))

    async def wait_app(self, app_id: int, expected: int, timeout: float | None = None) -> list[Message]:
        """Wait until ``expected`` messages of app ``app_id`` have finished; return them.

        Raises:
            CallTimeoutError: fewer than ``expected`` finished within ``timeout``.
        """
        done = self._app_results.get(app_id, [])
        if len(done) >= expected:
            return list(done)
        waiter = asyncio.get_running_loop().create_future()
        return await self._wait(self._app_waiters, app_id, (expected, waiter), waiter, timeout)

    async def wait_result(self, message_id: int, timeout: float | None = None) -> Message:
        """The finished message ``message_id``, once it has run.

        Raises:
            UnknownCallError: no call with this id was ever submitted.
            CallTimeoutError: no result within ``timeout`` seconds.
        """
        result = self._results.get(message_id)
        if result is not None:
            return result
        if message_id not in self._running and message_id not in self._queued_ids:
            raise UnknownCallError(message_id)
        waiter = asyncio.get_running_loop().create_future()
        return await self._wait(self._waiters, message_id, waiter, waiter, timeout)

    @staticmethod
    async def _wait(registry: dict[int, list], key: int, entry, waiter: asyncio.Future, timeout: float | None):
        """Park ``entry`` under ``key`` until ``waiter`` resolves; always unpark it after."""
        registry.setdefault(key, []).append(entry)
        try:
            return await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            raise CallTimeoutError(key, timeout or 0) from None
        finally:
            waiting = registry.get(key)
            if waiting is not None:
                if entry in waiting:
                    waiting.remove(entry)
                if not waiting:
                    del registry[key]

    def capacity(self) -> int:
        """How many calls the cluster's hosts can run at once."""
        return sum(record.slots for record in self._hosts.values())

    def statistics(self) -> PlannerStatistics:
        return PlannerStatistics(
            hosts={h: (r.used, r.slots) for h, r in self._hosts.items()},
            queued=len(self._queue) + sum(len(waiting) for waiting in self._pinned.values()),
            running=len(self._running),
            results_kept=len(self._results),
        )
