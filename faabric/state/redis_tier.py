"""The global state tier in Redis.

A value is one Redis string, addressed in chunks: a full push is one ``SET``,
a partial push one script call that ``SETRANGE``s only the dirty chunks (if
the stored value still has the size the pusher expects), a partial pull one
pipeline of ``GETRANGE`` (only the chunks asked for).
Appended elements are a Redis list; write locks are ``SET NX PX`` with a
random token, released by a Lua script only by their holder, so they hold
across hosts and expire if a holder dies.

The client is synchronous, with a thread-safe connection pool: calls come
from worker threads. Socket timeouts bound every call; any Redis failure
becomes :class:`~faabric.exceptions.StateBackendUnavailableError`.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from typing import Iterator, Sequence
from urllib.parse import urlsplit, urlunsplit

import redis

from faabric.exceptions import StateBackendUnavailableError

VALUE_PREFIX = "faabric:state:"
APPEND_PREFIX = "faabric:append:"
LOCK_PREFIX = "faabric:lock:"
SOCKET_TIMEOUT = 10.0
CONNECT_TIMEOUT = 2.0
MAX_CONNECTIONS = 64

_SET_RANGES = """
if redis.call('exists', KEYS[1]) == 0 or redis.call('strlen', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
for i = 2, #ARGV, 2 do redis.call('setrange', KEYS[1], tonumber(ARGV[i]), ARGV[i + 1]) end
return 1
"""
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
        self._set_ranges = self.client.register_script(_SET_RANGES)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise StateBackendUnavailableError(self.description, str(error) or type(error).__name__) from None
        except redis.RedisError as error:
            raise StateBackendUnavailableError(self.description, f"{type(error).__name__}: {error}") from None

    def size(self, name: str) -> int | None:
        key = VALUE_PREFIX + name
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.exists(key)
            pipe.strlen(key)
            exists, length = pipe.execute()
        return length if exists else None

    def get(self, name: str) -> bytes | None:
        with self._errors():
            return self.client.get(VALUE_PREFIX + name)

    def get_ranges(self, name: str, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        key = VALUE_PREFIX + name
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            for offset, length in ranges:
                pipe.getrange(key, offset, offset + length - 1)
            return pipe.execute()

    def set(self, name: str, data: bytes) -> None:
        with self._errors():
            self.client.set(VALUE_PREFIX + name, data)

    def set_ranges(self, name: str, pieces: Sequence[tuple[int, bytes]], size: int) -> bool:
        args: list = [size]
        for offset, data in pieces:
            args += [offset, data]
        with self._errors():
            return bool(self._set_ranges(keys=[VALUE_PREFIX + name], args=args))

    def append(self, name: str, data: bytes) -> None:
        with self._errors():
            self.client.rpush(APPEND_PREFIX + name, data)

    def appended(self, name: str, count: int) -> list[bytes]:
        if count <= 0:
            return []
        with self._errors():
            return self.client.lrange(APPEND_PREFIX + name, 0, count - 1)

    def clear_appended(self, name: str) -> None:
        with self._errors():
            self.client.delete(APPEND_PREFIX + name)

    def delete(self, name: str) -> None:
        with self._errors():
            self.client.delete(VALUE_PREFIX + name, APPEND_PREFIX + name)

    def lock(self, name: str, ttl: float, timeout: float) -> str | None:
        token = secrets.token_hex(16)
        deadline = time.monotonic() + timeout
        pause = 0.0005
        with self._errors():
            while not self.client.set(LOCK_PREFIX + name, token, nx=True, px=max(1, int(ttl * 1000))):
                if time.monotonic() >= deadline:
                    return None
                time.sleep(pause)
                pause = min(pause * 2, 0.02)
        return token

    def unlock(self, name: str, token: str) -> bool:
        with self._errors():
            return bool(self._unlock(keys=[LOCK_PREFIX + name], args=[token]))

    def ping(self) -> None:
        with self._errors():
            self.client.ping()

    def close(self) -> None:
        self.client.close()
        self.client.connection_pool.disconnect()
