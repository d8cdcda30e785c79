"""The global state tier in Redis.

A value is one Redis string, addressed in chunks: a full push is one ``SET``,
a partial push one pipeline of ``SETRANGE`` (only the dirty chunks; if the
stored value turns out to have another size, a full push follows), a
partial pull one pipeline of ``GETRANGE`` (only the chunks asked for, one
per run of them). Values travel through :mod:`faabric.state.resp`, straight
between the socket and the caller's memory (the value's file), with no
intermediate copy.

Appended elements are a Redis list; write locks are ``SET NX PX`` with a
random token, released by a Lua script only by their holder, so they hold
across hosts and expire if a holder dies.

The client is synchronous, with a thread-safe connection pool: calls come
from worker threads. Socket timeouts bound every call; any Redis failure
becomes :class:`~faabric.exceptions.StateBackendUnavailableError`.
"""

from __future__ import annotations

import secrets
import time
from typing import Sequence
from urllib.parse import urlsplit, urlunsplit

import redis

from faabric.exceptions import StateBackendUnavailableError
from faabric.state import resp

VALUE_PREFIX = "faabric:state:"
APPEND_PREFIX = "faabric:append:"
LOCK_PREFIX = "faabric:lock:"
SOCKET_TIMEOUT = 10.0
CONNECT_TIMEOUT = 2.0
MAX_CONNECTIONS = 64

_UNLOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def redacted(url: str) -> str:
    """``url`` without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisGlobalTier:
    """Values, appended lists and locks in one Redis server."""

    def __init__(self, url: str) -> None:
        self.description = f"redis {redacted(url)}"
        try:
            pool = redis.BlockingConnectionPool.from_url(
                url,
                max_connections=MAX_CONNECTIONS,
                timeout=SOCKET_TIMEOUT,
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=CONNECT_TIMEOUT,
            )
        except ValueError as error:
            raise StateBackendUnavailableError(self.description, f"bad URL: {error}") from None
        self.client = redis.Redis(connection_pool=pool)
        self._unlock = self.client.register_script(_UNLOCK)

    def _unavailable(self, error: redis.RedisError) -> StateBackendUnavailableError:
        if isinstance(error, (redis.ConnectionError, redis.TimeoutError)):
            return StateBackendUnavailableError(self.description, str(error) or type(error).__name__)
        return StateBackendUnavailableError(self.description, f"{type(error).__name__}: {error}")

    def _round_trip(
        self, commands: Sequence[Sequence[resp.Arg]], sinks: Sequence[resp.Sink | None] | None = None
    ) -> list:
        """One lean round trip (:mod:`faabric.state.resp`) on a connection of the pool."""
        pool = self.client.connection_pool
        try:
            connection = pool.get_connection()
            try:
                return resp.round_trip(connection._sock, commands, sinks)  # connected and checked by the pool
            except redis.ResponseError:
                raise  # every reply was read: the connection is clean
            except BaseException:
                connection.disconnect()  # it may be mid-reply
                raise
            finally:
                pool.release(connection)
        except redis.RedisError as error:
            raise self._unavailable(error) from None

    def size(self, name: str) -> int | None:
        key = VALUE_PREFIX + name
        exists, length = self._round_trip([("EXISTS", key), ("STRLEN", key)])
        return length if exists else None

    def get(self, name: str) -> bytes | None:
        return self._round_trip([("GET", VALUE_PREFIX + name)])[0]

    def get_into(self, name: str, receive_into: resp.Sink) -> int | None:
        return self._round_trip([("GET", VALUE_PREFIX + name)], [receive_into])[0]

    def get_ranges_into(self, name: str, ranges: Sequence[tuple[int, int]], buffer: memoryview) -> None:
        key = VALUE_PREFIX + name
        commands = [("GETRANGE", key, offset, offset + length - 1) for offset, length in ranges]
        self._round_trip(commands, [_slice_of(buffer, offset) for offset, _ in ranges])

    def set(self, name: str, data: bytes | memoryview) -> None:
        self._round_trip([("SET", VALUE_PREFIX + name, data)])

    def set_ranges(self, name: str, pieces: Sequence[tuple[int, bytes | memoryview]], size: int) -> bool:
        """One pipeline of ``SETRANGE`` (after a ``STRLEN`` if a piece reaches the end).

        ``SETRANGE`` answers the value's length after it, which tells whether
        the stored value had ``size`` bytes unless a piece ends at ``size``.
        False if it did not; the pieces were written all the same, and the
        caller then pushes the whole value over them.
        """
        key = VALUE_PREFIX + name
        check_first = any(offset + len(data) >= size for offset, data in pieces)
        commands = [("STRLEN", key)] if check_first else []
        commands += [("SETRANGE", key, offset, data) for offset, data in pieces]
        lengths = self._round_trip(commands)
        return lengths[0] == size if check_first else all(length == size for length in lengths)

    def append(self, name: str, data: bytes) -> None:
        try:
            self.client.rpush(APPEND_PREFIX + name, data)
        except redis.RedisError as error:
            raise self._unavailable(error) from None

    def appended(self, name: str, count: int) -> list[bytes]:
        if count <= 0:
            return []
        try:
            return self.client.lrange(APPEND_PREFIX + name, 0, count - 1)
        except redis.RedisError as error:
            raise self._unavailable(error) from None

    def clear_appended(self, name: str) -> None:
        try:
            self.client.delete(APPEND_PREFIX + name)
        except redis.RedisError as error:
            raise self._unavailable(error) from None

    def delete(self, name: str) -> None:
        try:
            self.client.delete(VALUE_PREFIX + name, APPEND_PREFIX + name)
        except redis.RedisError as error:
            raise self._unavailable(error) from None

    def lock(self, name: str, ttl: float, timeout: float) -> str | None:
        token = secrets.token_hex(16)
        deadline = time.monotonic() + timeout
        pause = 0.0005
        try:
            while not self.client.set(LOCK_PREFIX + name, token, nx=True, px=max(1, int(ttl * 1000))):
                if time.monotonic() >= deadline:
                    return None
                time.sleep(pause)
                pause = min(pause * 2, 0.02)
        except redis.RedisError as error:
            raise self._unavailable(error) from None
        return token

    def unlock(self, name: str, token: str) -> bool:
        try:
            return bool(self._unlock(keys=[LOCK_PREFIX + name], args=[token]))
        except redis.RedisError as error:
            raise self._unavailable(error) from None

    def ping(self) -> None:
        try:
            self.client.ping()
        except redis.RedisError as error:
            raise self._unavailable(error) from None

    def close(self) -> None:
        self.client.close()
        self.client.connection_pool.disconnect()


def _slice_of(buffer: memoryview, offset: int) -> resp.Sink:
    """A sink receiving a reply into ``buffer`` at ``offset``."""
    return lambda length: buffer[offset : offset + length]
