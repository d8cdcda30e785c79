"""The local state tier: one value per (user, key) per host, in a memfd.

Every granule on a host shares one :class:`LocalValue` per key. Its bytes
live in a memory file; the copying operations (``read``, ``write``, offsets,
push and pull) go through the host's own mapping of it and are counted in
:attr:`LocalState.bytes_copied`, while the pointer operations hand out the
file itself (:meth:`LocalState.region`) so the granule runtime can map its
pages straight into a granule's linear memory: co-located granules then
share the same physical pages, with no copy.

Sizes. The file only ever grows (whole 64 KiB steps), so pages a granule has
mapped stay valid. A value is created by a write, or by a pointer or offset
call with ``total_len`` when no tier has it yet (zero-filled, as Faasm does).
A value that later grows is seen by an existing mapping only up to the size
it mapped; a new pointer call maps the larger value at a new address.

Global tier. A value not yet on this host is fetched lazily: only the chunks
an offset operation touches, or all of it. ``push`` sends the whole value if
it is dirty (Faasm's ``pushFull``); ``push_partial`` only the dirty chunks;
``pull`` replaces the local bytes, in place, so mapped pointers see them.
Appended elements go straight to the global tier's list.
"""

from __future__ import annotations

import mmap
import os
import resource
import threading
from typing import Iterator

from faabric.exceptions import (
    StateKeyError,
    StateLockTimeoutError,
    StateRangeError,
    StateValueError,
)
from faabric.state.global_tier import CHUNK_SIZE, GlobalTier
from faabric.state.keys import StateKey
from faabric.state.locks import ReadWriteLock

FILE_STEP = 64 << 10
MAX_VALUE_SIZE = 1 << 30
LOCK_TTL_SECONDS = 60.0
LOCK_TIMEOUT_SECONDS = 120.0


def _chunks(offset: int, length: int) -> range:
    """Indices of the chunks that ``[offset, offset+length)`` touches."""
    if length <= 0:
        return range(0)
    return range(offset // CHUNK_SIZE, (offset + length - 1) // CHUNK_SIZE + 1)


class LocalValue:
    """One value on one host: its memory file, size, and per-chunk flags.

    ``pulled[i]`` is set when chunk ``i`` holds the value's bytes here
    (written here or fetched); ``dirty[i]`` when it changed since the last push.
    """

    def __init__(self, key: StateKey) -> None:
        self.key = key
        self.fd = -1  # the memory file, made when the value first gets a size
        self.map: mmap.mmap | None = None  # the host's own view of the file, for copies
        self.size: int | None = None  # None until known (written, fetched or created)
        self.capacity = 0
        self.pulled = bytearray()
        self.dirty = bytearray()
        self.guard = threading.RLock()  # size, flags and the bytes of copying operations
        self.rw = ReadWriteLock()
        self.global_token: str | None = None

    def resize(self, size: int) -> None:
        """Set the size; grow the file (never shrink it) and the chunk flags."""
        if self.fd < 0:
            self.fd = os.memfd_create(f"faabric-state-{self.key.user}", os.MFD_CLOEXEC)
        if self.size is not None and size < self.size:  # a later growth must read zeros
            self.map[size : self.size] = bytes(self.size - size)
        if size >= self.capacity:  # strictly larger, so any page at or below size is in the file
            capacity = (size // FILE_STEP + 1) * FILE_STEP
            os.ftruncate(self.fd, capacity)
            if self.map is not None:
                self.map.close()
            self.map = mmap.mmap(self.fd, capacity)
            self.capacity = capacity
        chunks = -(-size // CHUNK_SIZE)
        for flags in (self.pulled, self.dirty):
            if len(flags) < chunks:
                flags.extend(bytes(chunks - len(flags)))
            else:
                del flags[chunks:]
        self.size = size

    def mark(self, flags: bytearray, offset: int, length: int, value: int = 1) -> None:
        chunks = _chunks(offset, length)
        if chunks:
            flags[chunks.start : chunks.stop] = bytes([value]) * len(chunks)

    def close(self) -> None:
        if self.map is not None:
            self.map.close()
            self.map = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class LocalState:
    """A host's local tier, in front of its global tier.

    Attributes:
        bytes_copied: bytes this tier has copied in or out of values (the
            pointer operations copy none).
    """

    def __init__(self, global_tier: GlobalTier, owns_global_tier: bool = True) -> None:
        self.global_tier = global_tier
        self._owns_global_tier = owns_global_tier
        self._values: dict[StateKey, LocalValue] = {}
        self._lock = threading.Lock()
        self._copied_lock = threading.Lock()
        self.bytes_copied = 0
        self.max_values = max(256, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 2)
        self.lock_ttl = LOCK_TTL_SECONDS  # a global write lock held longer expires

    # -- values ------------------------------------------------------------------------

    def value(self, key: StateKey) -> LocalValue:
        """This host's entry for ``key`` (created empty; nothing fetched).

        Raises: StateValueError when the host already holds ``max_values`` keys
        (each value holds a file descriptor).
        """
        value = self._values.get(key)
        if value is None:
            with self._lock:
                value = self._values.get(key)
                if value is None:
                    if len(self._values) >= self.max_values:
                        raise StateValueError(
                            key.user, key.key, f"this host already holds {self.max_values} state keys (the limit)"
                        )
                    value = self._values[key] = LocalValue(key)
        return value

    def delete(self, key: StateKey) -> None:
        """Drop the value here and in the global tier (pages mapped by running granules stay valid)."""
        with self._lock:
            value = self._values.pop(key, None)
        if value is not None:
            with value.guard:
                value.close()
        self.global_tier.delete(key.name)

    def _load(self, value: LocalValue, offset: int = 0, length: int | None = None, create: int | None = None) -> None:
        """Make ``[offset, offset+length)`` (default: all) hold the value's bytes here.

        A value no tier has is created with ``create`` zero bytes, or raises StateKeyError.
        """
        if value.size is not None and value.pulled.find(0) < 0:
            return  # all here already
        if value.size is None:
            if length is None and self._fetch(value):  # size and bytes in one round trip
                return
            size = None if length is None else self.global_tier.size(value.key.name)
            if size is None:
                self._create(value, create)
                return
            value.resize(size)
        if length is None:
            offset, length = 0, value.size
        length = max(0, min(length, value.size - offset))
        missing = [i for i in _chunks(offset, length) if not value.pulled[i]]
        if not missing:
            return
        ranges = _runs(missing, value.size)
        with memoryview(value.map) as whole:
            self.global_tier.get_ranges_into(value.key.name, ranges, whole)
        self._count(sum(length for _, length in ranges))
        for index in missing:
            value.pulled[index] = 1

    def _create(self, value: LocalValue, size: int | None) -> None:
        """Give a value no tier has ``size`` zero bytes; StateKeyError if ``size`` is None."""
        if size is None:
            raise StateKeyError(value.key.user, value.key.key)
        _check_size(value.key, size)
        value.resize(size)
        value.mark(value.pulled, 0, size)

    def _fetch(self, value: LocalValue) -> bool:
        """Receive the global value straight into the file (the value takes its size); False if there is none."""

        def receive_into(size: int) -> memoryview:
            _check_size(value.key, size)
            value.resize(size)
            self._count(size)
            return memoryview(value.map)[:size]

        size = self.global_tier.get_into(value.key.name, receive_into)
        if size is None:
            return False
        value.mark(value.pulled, 0, size)
        return True

    def _copy_in(self, value: LocalValue, data: bytes | memoryview, offset: int) -> None:
        value.map[offset : offset + len(data)] = data
        self._count(len(data))

    def _copy_out(self, value: LocalValue, offset: int, length: int) -> bytes:
        self._count(length)
        return value.map[offset : offset + length]

    def _count(self, nbytes: int) -> None:
        with self._copied_lock:
            self.bytes_copied += nbytes

    # -- copying operations ------------------------------------------------------------

    def size(self, key: StateKey) -> int:
        """The value's size here, else in the global tier, else 0."""
        value = self._values.get(key)
        if value is not None and value.size is not None:
            return value.size
        return self.global_tier.size(key.name) or 0

    def read(self, key: StateKey, limit: int | None = None) -> bytes:
        """The value's bytes (at most ``limit``), fetched first if not on this host.

        Raises: StateKeyError if no tier has the key.
        """
        value = self.value(key)
        with value.guard:
            self._load(value)
            return self._copy_out(value, 0, value.size if limit is None else min(limit, value.size))

    def read_into(self, key: StateKey, out: memoryview) -> int:
        """Copy the value's first ``len(out)`` bytes into ``out``; return the bytes copied."""
        value = self.value(key)
        with value.guard:
            self._load(value)
            return self._copy_into(value, 0, out[: value.size])

    def read_range_into(self, key: StateKey, total_len: int, offset: int, out: memoryview) -> None:
        """Copy ``len(out)`` bytes at ``offset`` into ``out``."""
        value = self.value(key)
        with value.guard:
            self._check_range(value, total_len, offset, len(out))
            self._copy_into(value, offset, out)

    def _copy_into(self, value: LocalValue, offset: int, out: memoryview) -> int:
        with memoryview(value.map) as whole, whole[offset : offset + len(out)] as source:
            out[:] = source
        self._count(len(out))
        return len(out)

    def write(self, key: StateKey, data: bytes | memoryview) -> None:
        """Replace the value with ``data`` (the value takes its size); marks it all dirty."""
        _check_size(key, len(data))
        value = self.value(key)
        with value.guard:
            value.resize(len(data))
            self._copy_in(value, data, 0)
            value.mark(value.pulled, 0, len(data))
            value.mark(value.dirty, 0, len(data))

    def read_range(self, key: StateKey, total_len: int, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset``; fetches only those chunks if the value is not here."""
        value = self.value(key)
        with value.guard:
            self._check_range(value, total_len, offset, length)
            return self._copy_out(value, offset, length)

    def write_range(self, key: StateKey, total_len: int, offset: int, data: bytes | memoryview) -> None:
        """Write ``data`` at ``offset``; the value grows to ``total_len`` if that is bigger."""
        value = self.value(key)
        with value.guard:
            _check_offsets(key, total_len, offset, len(data))
            self._load(value, offset, len(data), create=total_len)
            if total_len > value.size:
                _check_size(key, total_len)
                old_size = value.size
                if old_size:
                    self._load(value, old_size - 1, 1)  # the chunk the old end is in
                value.resize(total_len)
                value.mark(value.pulled, old_size, total_len - old_size)
            self._check_range(value, total_len, offset, len(data))
            self._copy_in(value, data, offset)
            value.mark(value.dirty, offset, len(data))

    def region(self, key: StateKey, total_len: int, offset: int, length: int) -> tuple[int, int]:
        """For mapping: ensure ``[offset, offset+length)`` is here; return ``(fd, size)``.

        The caller maps pages of ``fd``; nothing is copied for a value already here.
        """
        value = self.value(key)
        with value.guard:
            self._check_range(value, total_len, offset, length)
            return value.fd, value.size

    def _check_range(self, value: LocalValue, total_len: int, offset: int, length: int) -> None:
        _check_offsets(value.key, total_len, offset, length)
        self._load(value, offset, length, create=total_len)
        if offset + length > value.size:
            raise StateRangeError(value.key.user, value.key.key, offset, length, value.size)

    def flag_dirty(self, key: StateKey, total_len: int, offset: int = 0, length: int | None = None) -> None:
        """Mark a range (default: all) changed through a pointer, for the next push."""
        value = self.value(key)
        with value.guard:
            length = total_len - offset if length is None else length
            self._check_range(value, total_len, offset, length)
            value.mark(value.dirty, offset, length)

    # -- the global tier ---------------------------------------------------------------

    def push(self, key: StateKey) -> None:
        """Send the whole value to the global tier, if it changed here since the last push."""
        value = self.value(key)
        with value.guard:
            if value.size is None or value.dirty.find(1) < 0:
                return
            self._push_whole(value)

    def _push_whole(self, value: LocalValue) -> None:
        self._load(value)
        with self._view(value, 0, value.size) as data:
            self.global_tier.set(value.key.name, data)
        value.mark(value.dirty, 0, value.size, 0)

    def push_partial(self, key: StateKey, mask: StateKey | None = None) -> None:
        """Send only the dirty chunks (or those where value ``mask`` has a non-zero byte)."""
        value = self.value(key)
        with value.guard:
            if value.size is None:
                return
            chunks = _flagged(value.dirty) if mask is None else self._masked_chunks(value, mask)
            if not chunks:
                return
            for i in chunks:
                self._load(value, i * CHUNK_SIZE, 1)
            runs = _runs(chunks, value.size)
            self._count(sum(length for _, length in runs))
            with memoryview(value.map) as whole:
                pieces = [(offset, whole[offset : offset + length]) for offset, length in runs]
                try:
                    same_size = self.global_tier.set_ranges(key.name, pieces, value.size)
                finally:
                    for _, data in pieces:
                        data.release()  # now, not when an error's traceback goes: the file may be remapped
            if not same_size:  # missing, or another size: the pieces were not enough
                self._push_whole(value)
                return
            for i in chunks:
                value.dirty[i] = 0

    def _view(self, value: LocalValue, offset: int, length: int) -> memoryview:
        """The value's bytes, to send without a copy; release the view before the file can be remapped."""
        self._count(length)
        with memoryview(value.map) as whole:
            return whole[offset : offset + length]

    def _masked_chunks(self, value: LocalValue, mask: StateKey) -> list[int]:
        mask_bytes = self.read(mask)
        if len(mask_bytes) < value.size:
            raise StateRangeError(
                mask.user, mask.key, 0, value.size, len(mask_bytes),
                f"mask of {len(mask_bytes)} bytes is shorter than {value.key.key!r} ({value.size} bytes)",
            )
        return [
            i for i in range(len(value.dirty))
            if mask_bytes.count(0, i * CHUNK_SIZE, min((i + 1) * CHUNK_SIZE, value.size)) < min(CHUNK_SIZE, value.size - i * CHUNK_SIZE)
        ]

    def pull(self, key: StateKey) -> None:
        """Replace the local bytes with the global tier's, in place (mapped pointers see them).

        Raises: StateKeyError if the global tier has no such value.
        """
        value = self.value(key)
        with value.guard:
            if not self._fetch(value):
                raise StateKeyError(key.user, key.key)
            value.mark(value.dirty, 0, value.size, 0)

    def append(self, key: StateKey, data: bytes) -> None:
        self.global_tier.append(key.name, data)

    def appended(self, key: StateKey, count: int) -> list[bytes]:
        """The first ``count`` appended elements.

        Raises: StateRangeError if fewer than ``count`` were appended.
        """
        if count < 0:
            raise StateRangeError(key.user, key.key, 0, count, 0, f"negative element count {count}")
        elements = self.global_tier.appended(key.name, count)
        if len(elements) < count:
            raise StateRangeError(
                key.user, key.key, 0, count, len(elements),
                f"asked for {count} appended elements but there are {len(elements)}",
            )
        return elements

    def clear_appended(self, key: StateKey) -> None:
        self.global_tier.clear_appended(key.name)

    # -- locks -------------------------------------------------------------------------

    def lock_read(self, key: StateKey, timeout: float = LOCK_TIMEOUT_SECONDS) -> None:
        """Take the host-local shared lock of ``key`` (Faasm's read lock)."""
        if not self.try_lock_read(key, timeout):
            raise StateLockTimeoutError(key.user, key.key, timeout)

    def try_lock_read(self, key: StateKey, timeout: float) -> bool:
        return self.value(key).rw.acquire_read(timeout)

    def unlock_read(self, key: StateKey) -> None:
        try:
            self.value(key).rw.release_read()
        except RuntimeError:
            raise StateValueError(key.user, key.key, "read lock is not held") from None

    def lock_write(self, key: StateKey, timeout: float = LOCK_TIMEOUT_SECONDS) -> None:
        """Take the host-local exclusive lock, then the global tier's lock (which holds across hosts)."""
        if not self.try_lock_write(key, timeout):
            raise StateLockTimeoutError(key.user, key.key, timeout)

    def try_lock_write(self, key: StateKey, timeout: float) -> bool:
        """:meth:`lock_write`, but False if not taken within ``timeout`` seconds."""
        value = self.value(key)
        if not value.rw.acquire_write(timeout):
            return False
        try:
            token = self.global_tier.lock(key.name, self.lock_ttl, timeout)
        except BaseException:
            value.rw.release_write()
            raise
        if token is None:
            value.rw.release_write()
            return False
        value.global_token = token
        return True

    def unlock_write(self, key: StateKey) -> None:
        """Release the write lock.

        Raises: StateValueError if it is not held, or if the global lock had
            expired (held past ``lock_ttl``), so another host may have had it too.
        """
        value = self.value(key)
        token, value.global_token = value.global_token, None
        if token is None:
            raise StateValueError(key.user, key.key, "write lock is not held")
        try:
            still_held = self.global_tier.unlock(key.name, token)
        finally:
            value.rw.release_write()
        if not still_held:
            raise StateValueError(
                key.user, key.key,
                f"the global write lock expired after {self.lock_ttl:g}s, before it was released; "
                "another host may have held it meanwhile",
            )

    # -- lifetime ----------------------------------------------------------------------

    def keys(self) -> Iterator[StateKey]:
        return iter(list(self._values))

    def close(self) -> None:
        """Close every value's file (mapped pages stay valid) and, if owned, the global tier."""
        with self._lock:
            values, self._values = list(self._values.values()), {}
        for value in values:
            value.close()
        if self._owns_global_tier:
            self.global_tier.close()


def _flagged(flags: bytearray) -> list[int]:
    """Indices of the non-zero flags."""
    found, at = [], flags.find(1)
    while at >= 0:
        found.append(at)
        at = flags.find(1, at + 1)
    return found


def _runs(chunks: list[int], size: int) -> list[tuple[int, int]]:
    """Ascending chunk indices as ``(offset, length)`` byte ranges, one per run of consecutive chunks."""
    runs: list[tuple[int, int]] = []
    for i in chunks:
        start = i * CHUNK_SIZE
        if runs and sum(runs[-1]) == start:
            runs[-1] = (runs[-1][0], runs[-1][1] + CHUNK_SIZE)
        else:
            runs.append((start, CHUNK_SIZE))
    return [(offset, min(length, size - offset)) for offset, length in runs]


def _check_offsets(key: StateKey, total_len: int, offset: int, length: int) -> None:
    if total_len < 0 or offset < 0 or length < 0:
        raise StateRangeError(
            key.user, key.key, offset, length, total_len,
            f"negative size, offset or length (total {total_len}, offset {offset}, length {length})",
        )
    if offset + length > total_len:
        raise StateRangeError(
            key.user, key.key, offset, length, total_len,
            f"range [{offset}, +{length}) is past the total length {total_len} given",
        )


def _check_size(key: StateKey, size: int) -> None:
    if size < 0 or size > MAX_VALUE_SIZE:
        raise StateRangeError(key.user, key.key, 0, size, MAX_VALUE_SIZE, f"size {size} is outside [0, {MAX_VALUE_SIZE}]")

