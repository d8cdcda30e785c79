"""The Python async API to state: ``cluster.state(user)``.

A :class:`StateClient` works on one host's local tier, with the same
operations as the guest's host functions. Every method runs its blocking
work on an executor thread, never on the event loop.

    state = cluster.state("demo")
    await state.set("weights", bytes(1024))
    await state.push("weights")
    async with state.write_lock("counter"):
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import AsyncIterator, Callable, TypeVar

from faabric.state.keys import StateKey
from faabric.state.local import LocalState

T = TypeVar("T")


class StateClient:
    """One user's state on one host."""

    def __init__(self, local: LocalState, user: str) -> None:
        self.local = local
        self.user = user

    async def _run(self, fn: Callable[..., T], *args) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args))

    def _key(self, key: str) -> StateKey:
        return StateKey.checked(self.user, key)

    async def get(self, key: str) -> bytes:
        """The whole value (fetched from the global tier if not on this host)."""
        return await self._run(self.local.read, self._key(key))

    async def set(self, key: str, data: bytes) -> None:
        """Replace the value on this host (``push`` sends it to the global tier)."""
        await self._run(self.local.write, self._key(key), bytes(data))

    async def delete(self, key: str) -> None:
        """Drop the value on this host and in the global tier."""
        await self._run(self.local.delete, self._key(key))

    async def size(self, key: str) -> int:
        return await self._run(self.local.size, self._key(key))

    async def get_offset(self, key: str, total_len: int, offset: int, length: int) -> bytes:
        return await self._run(self.local.read_range, self._key(key), total_len, offset, length)

    async def set_offset(self, key: str, total_len: int, offset: int, data: bytes) -> None:
        await self._run(self.local.write_range, self._key(key), total_len, offset, bytes(data))

    async def push(self, key: str) -> None:
        await self._run(self.local.push, self._key(key))

    async def push_partial(self, key: str, mask_key: str | None = None) -> None:
        mask = None if mask_key is None else self._key(mask_key)
        await self._run(self.local.push_partial, self._key(key), mask)

    async def pull(self, key: str) -> None:
        await self._run(self.local.pull, self._key(key))

    async def append(self, key: str, data: bytes) -> None:
        await self._run(self.local.append, self._key(key), bytes(data))

    async def get_appended(self, key: str, count: int) -> list[bytes]:
        return await self._run(self.local.appended, self._key(key), count)

    async def clear_appended(self, key: str) -> None:
        await self._run(self.local.clear_appended, self._key(key))

    async def lock_read(self, key: str) -> None:
        await self._run(self.local.lock_read, self._key(key))

    async def unlock_read(self, key: str) -> None:
        await self._run(self.local.unlock_read, self._key(key))

    async def lock_write(self, key: str) -> None:
        await self._run(self.local.lock_write, self._key(key))

    async def unlock_write(self, key: str) -> None:
        await self._run(self.local.unlock_write, self._key(key))

    @contextlib.asynccontextmanager
    async def read_lock(self, key: str) -> AsyncIterator[None]:
        await self.lock_read(key)
        try:
            yield
        finally:
            await self.unlock_read(key)

    @contextlib.asynccontextmanager
    async def write_lock(self, key: str) -> AsyncIterator[None]:
        """Hold ``key``'s write lock (host-local, plus the global tier's across hosts)."""
        await self.lock_write(key)
        try:
            yield
        finally:
            await self.unlock_write(key)
