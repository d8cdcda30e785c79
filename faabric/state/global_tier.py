"""The global state tier: one interface, an in-memory and a Redis backend.

A host's backend is chosen once, when the host is built (:func:`open_global_tier`):
Redis when a URL is configured, else :class:`InMemoryGlobalTier`, which the
embedded runtime shares between the hosts of one process. Backends take the
namespaced :attr:`~faabric.state.keys.StateKey.name` of a value; their
methods block, so they run on worker or executor threads, never on the loop.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Callable, Protocol, Sequence

CHUNK_SIZE = 64 << 10
"""The unit of partial pushes and pulls (Faasm's streaming chunk size)."""


class GlobalTier(Protocol):
    """Where values live between hosts: whole values, byte ranges, appended lists, locks."""

    description: str

    def size(self, name: str) -> int | None:
        """The value's size, or None if there is none."""

    def get(self, name: str) -> bytes | None:
        """The whole value, or None."""

    def get_into(self, name: str, receive_into: Callable[[int], memoryview]) -> int | None:
        """Receive the whole value into ``receive_into(size)`` (exactly ``size`` bytes); its size, or None."""

    def get_ranges_into(self, name: str, ranges: Sequence[tuple[int, int]], buffer: memoryview) -> None:
        """Receive ``(offset, length)`` ranges of the value into the same ranges of ``buffer``, in one round trip.

        Where the value ends first, the rest of a range is left as it was.
        """

    def set(self, name: str, data: bytes | memoryview) -> None:
        """Replace the whole value."""

    def set_ranges(self, name: str, pieces: Sequence[tuple[int, bytes | memoryview]], size: int) -> bool:
        """Overwrite ``(offset, data)`` pieces of the value, in one round trip.

        Returns False if the value was missing or not ``size`` bytes long; the
        caller then replaces the whole value (a backend may have written the pieces).
        """

    def append(self, name: str, data: bytes) -> None: ...

    def appended(self, name: str, count: int) -> list[bytes]:
        """The first ``count`` appended elements (fewer if there are fewer)."""

    def clear_appended(self, name: str) -> None: ...

    def delete(self, name: str) -> None:
        """Drop the value and its appended list."""

    def lock(self, name: str, ttl: float, timeout: float) -> str | None:
        """Take the global write lock of ``name`` for ``ttl`` seconds; a token, or None on timeout."""

    def unlock(self, name: str, token: str) -> bool:
        """Release the lock if ``token`` still holds it."""

    def ping(self) -> None:
        """Raise StateBackendUnavailableError if the backend cannot be reached."""

    def close(self) -> None: ...


class InMemoryGlobalTier:
    """The global tier of the embedded runtime: dictionaries in this process."""

    description = "in-memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, bytearray] = {}
        self._appended: dict[str, list[bytes]] = {}
        self._locks: dict[str, tuple[str, float]] = {}
        self._unlocked = threading.Condition(self._lock)
        self._tokens = itertools.count(1)

    def size(self, name: str) -> int | None:
        value = self._values.get(name)
        return None if value is None else len(value)

    def get(self, name: str) -> bytes | None:
        with self._lock:
            value = self._values.get(name)
            return None if value is None else bytes(value)

    def get_into(self, name: str, receive_into: Callable[[int], memoryview]) -> int | None:
        with self._lock:
            value = self._values.get(name)
            if value is None:
                return None
            with receive_into(len(value)) as out:
                out[:] = value
            return len(value)

    def get_ranges_into(self, name: str, ranges: Sequence[tuple[int, int]], buffer: memoryview) -> None:
        with self._lock:
            value = self._values.get(name, bytearray())
            for offset, length in ranges:
                piece = value[offset : offset + length]
                buffer[offset : offset + len(piece)] = piece

    def set(self, name: str, data: bytes | memoryview) -> None:
        with self._lock:
            self._values[name] = bytearray(data)

    def set_ranges(self, name: str, pieces: Sequence[tuple[int, bytes | memoryview]], size: int) -> bool:
        with self._lock:
            value = self._values.get(name)
            if value is None or len(value) != size:
                return False
            for offset, data in pieces:
                value[offset : offset + len(data)] = data
            return True

    def append(self, name: str, data: bytes) -> None:
        with self._lock:
            self._appended.setdefault(name, []).append(bytes(data))

    def appended(self, name: str, count: int) -> list[bytes]:
        with self._lock:
            return list(self._appended.get(name, [])[:count])

    def clear_appended(self, name: str) -> None:
        with self._lock:
            self._appended.pop(name, None)

    def delete(self, name: str) -> None:
        with self._lock:
            self._values.pop(name, None)
            self._appended.pop(name, None)

    def lock(self, name: str, ttl: float, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        token = str(next(self._tokens))
        with self._unlocked:
            while True:
                now = time.monotonic()
                held = self._locks.get(name)
                if held is None or held[1] <= now:
                    self._locks[name] = (token, now + ttl)
                    return token
                wait = min(deadline, held[1]) - now
                if now >= deadline:
                    return None
                self._unlocked.wait(wait)

    def unlock(self, name: str, token: str) -> bool:
        with self._unlocked:
            held = self._locks.get(name)
            if held is None or held[0] != token:
                return False
            del self._locks[name]
            self._unlocked.notify_all()
            return True

    def ping(self) -> None:
        pass

    def close(self) -> None:
        pass


def open_global_tier(redis_url: str | None) -> GlobalTier:
    """The backend for ``redis_url``: Redis if given, else a fresh in-memory one."""
    if redis_url:
        from faabric.state.redis_tier import RedisGlobalTier

        return RedisGlobalTier(redis_url)
    return InMemoryGlobalTier()
