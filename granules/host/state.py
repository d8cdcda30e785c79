"""Faasm's state host functions: ``__faasm_read_state`` and friends.

Each works on the calling host's local tier (:class:`faabric.state.LocalState`),
under the calling user's namespace: the key string a guest passes never
names another user's value. The pointer functions map the value's pages
``MAP_SHARED`` into fresh, page-aligned memory grown at the end of the
granule's linear memory, so granules on one host share the same physical
pages; within one call, asking again for a mapped range returns the same
address. Locks a call still holds when it ends are released then.

Sizes and growth: mapped pages count against the granule's memory cap. A
mapping shows the value up to the size it had when mapped; if the value
grows later, a new pointer call maps it again at a new address (linear
memory cannot be remapped in place under a running guest). Appended
elements are a separate list in the global tier, so appends never move a
mapped value.

Where this differs from Faasm: reading or pulling a key no tier has raises
StateKeyError instead of yielding zeros; every bad offset, length, pointer
or key is a typed error that fails only the calling call.

Guest ``long`` is i32 on wasm32; pointers returned to the guest are offsets.
"""

from __future__ import annotations

import logging
import mmap
from pathlib import Path

from faabric.exceptions import GuestMemoryError, StateFileError, StateLockTimeoutError, StateRangeError, StateValueError
from faabric.state.keys import MAX_KEY_BYTES, StateKey
from faabric.state.local import LOCK_TIMEOUT_SECONDS, MAX_VALUE_SIZE
from granules.context import ActiveCall
from granules.snapshot import map_fixed

log = logging.getLogger(__name__)
OS_PAGE = mmap.PAGESIZE
_SESSION = "state"

def map_shared(address: int, length: int, fd: int, offset: int) -> None:
    """Map ``fd[offset, offset+length)`` shared over ``[address, address+length)`` of our memory."""
    map_fixed(address, length, mmap.MAP_SHARED, fd, offset)


class _Session:
    """What one call holds: mapped ranges per key, and locks to release at its end."""

    __slots__ = ("mappings", "locks")

    def __init__(self) -> None:
        self.mappings: dict[StateKey, list[tuple[int, int, int]]] = {}  # (file start, file end, guest address)
        self.locks: list[tuple[str, StateKey]] = []


def _session(call: ActiveCall) -> _Session:
    session = call.scratch.get(_SESSION)
    if session is None:
        session = call.scratch[_SESSION] = _Session()
        call.context.on_finish(lambda: _release_locks(call, session))
    return session


def _release_locks(call: ActiveCall, session: _Session) -> None:
    """Release what the call still holds, newest first; one failure does not keep the rest held."""
    state = call.context.host.state
    while session.locks:
        kind, key = session.locks.pop()
        try:
            (state.unlock_write if kind == "write" else state.unlock_read)(key)
        except Exception:
            log.exception("releasing the %s lock of %s after call %s failed", kind, key, call.message.id)


def _key(call: ActiveCall, pointer: int) -> StateKey:
    """The NUL-terminated key at ``pointer``, in the caller's namespace."""
    memory = call.memory
    offset = memory.check(pointer, 0, "state key")
    window = bytes(memory.view[offset : offset + MAX_KEY_BYTES + 1])
    end = window.find(b"\0")
    if end < 0:
        if len(window) <= MAX_KEY_BYTES:
            raise GuestMemoryError(call.message.name, f"state key at {offset:#x} runs off the end of linear memory")
        end = len(window)  # too long: StateKey.checked names it
    try:
        text = window[:end].decode("utf-8")
    except UnicodeDecodeError:
        raise GuestMemoryError(call.message.name, f"state key at {offset:#x} is not valid UTF-8") from None
    if end > MAX_KEY_BYTES:
        text += "..."
    return StateKey.checked(call.message.user, text)


def _buffer(call: ActiveCall, pointer: int, length: int, what: str) -> memoryview:
    offset = call.memory.check(pointer, length, what)
    return call.memory.view[offset : offset + length]


def _state(call: ActiveCall):
    return call.context.host.state


def _signed(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


# -- copying functions -------------------------------------------------------------------


def read_state(call: ActiveCall, key: int, buffer: int, buffer_len: int) -> int:
    """Copy the value (at most ``buffer_len`` bytes) into ``buffer``; returns the value's size.

    With ``buffer_len`` 0 nothing is copied, and a key no tier has has size 0.
    """
    state_key = _key(call, key)
    if buffer_len == 0:
        return _state(call).size(state_key)
    _state(call).read_into(state_key, _buffer(call, buffer, buffer_len, "state buffer"))
    return _state(call).size(state_key)


def write_state(call: ActiveCall, key: int, data: int, data_len: int) -> None:
    """Set the value to ``data_len`` bytes at ``data``."""
    _state(call).write(_key(call, key), _buffer(call, data, data_len, "state data"))


def read_state_offset(call: ActiveCall, key: int, total_len: int, offset: int, buffer: int, buffer_len: int) -> None:
    state_key = _key(call, key)
    _state(call).read_range_into(state_key, total_len, offset, _buffer(call, buffer, buffer_len, "state buffer"))


def write_state_offset(call: ActiveCall, key: int, total_len: int, offset: int, data: int, data_len: int) -> None:
    state_key = _key(call, key)
    _state(call).write_range(state_key, total_len, offset, _buffer(call, data, data_len, "state data"))


def write_state_from_file(call: ActiveCall, key: int, file_path: int) -> int:
    """Set the value to the contents of a file in the user's sandbox; returns its size."""
    state_key = _key(call, key)
    path = call.memory.read_cstr(file_path, "file path")
    sandbox = (call.context.host.config.sandbox_dir / call.message.user).resolve()
    target = (sandbox / path.lstrip("/")).resolve()
    if not target.is_relative_to(sandbox):
        raise StateFileError(state_key.user, state_key.key, f"path {path!r} is outside the sandbox")
    try:
        if target.stat().st_size > MAX_VALUE_SIZE:
            raise StateFileError(state_key.user, state_key.key, f"file {path!r} is larger than {MAX_VALUE_SIZE} bytes")
        data = Path(target).read_bytes()
    except OSError as error:
        raise StateFileError(state_key.user, state_key.key, f"cannot read {path!r}: {error.strerror}") from None
    _state(call).write(state_key, data)
    return _signed(len(data))


def append_state(call: ActiveCall, key: int, data: int, data_len: int) -> None:
    _state(call).append(_key(call, key), call.memory.read(data, data_len, "appended data"))


def read_appended_state(call: ActiveCall, key: int, data: int, data_len: int, n_elems: int) -> None:
    """Copy the first ``n_elems`` appended elements, one after another, into ``data``."""
    state_key = _key(call, key)
    out = _buffer(call, data, data_len, "appended buffer")
    joined = b"".join(_state(call).appended(state_key, n_elems))
    if len(joined) > data_len:
        raise StateRangeError(
            state_key.user, state_key.key, 0, data_len, len(joined),
            f"{n_elems} appended elements take {len(joined)} bytes; the buffer has {data_len}",
        )
    out[: len(joined)] = joined


def clear_appended_state(call: ActiveCall, key: int) -> None:
    _state(call).clear_appended(_key(call, key))


# -- pointers ----------------------------------------------------------------------------


def read_state_ptr(call: ActiveCall, key: int, total_len: int) -> int:
    """Map the whole value into linear memory; returns its address."""
    return _map(call, _key(call, key), total_len, 0, total_len)


def read_state_offset_ptr(call: ActiveCall, key: int, total_len: int, offset: int, length: int) -> int:
    """Map ``[offset, offset+length)`` of the value; returns the address of ``offset``."""
    return _map(call, _key(call, key), total_len, offset, length)


def _map(call: ActiveCall, key: StateKey, total_len: int, offset: int, length: int) -> int:
    fd, _size = _state(call).region(key, total_len, offset, length)
    session = _session(call)
    mapped = session.mappings.setdefault(key, [])
    for start, end, address in mapped:
        if start <= offset and offset + length <= end:
            return _signed(address + offset - start)
    start = offset // OS_PAGE * OS_PAGE
    end = max(start + OS_PAGE, -(-(offset + length) // OS_PAGE) * OS_PAGE)
    region = call.memory.grow(end - start)
    map_shared(call.memory.base + region, end - start, fd, start)
    mapped.append((start, end, region))
    return _signed(region + offset - start)


def flag_state_dirty(call: ActiveCall, key: int, total_len: int) -> None:
    _state(call).flag_dirty(_key(call, key), total_len)


def flag_state_offset_dirty(call: ActiveCall, key: int, total_len: int, offset: int, length: int) -> None:
    _state(call).flag_dirty(_key(call, key), total_len, offset, length)


# -- the global tier ---------------------------------------------------------------------


def push_state(call: ActiveCall, key: int) -> None:
    _state(call).push(_key(call, key))


def push_state_partial(call: ActiveCall, key: int) -> None:
    _state(call).push_partial(_key(call, key))


def push_state_partial_mask(call: ActiveCall, key: int, mask_key: int) -> None:
    _state(call).push_partial(_key(call, key), _key(call, mask_key))


def pull_state(call: ActiveCall, key: int, state_len: int) -> None:
    """Replace this host's copy with the global tier's (``state_len`` is advisory)."""
    state_key = _key(call, key)
    if state_len < 0:
        raise StateRangeError(state_key.user, state_key.key, 0, state_len, 0, f"negative state length {state_len}")
    _state(call).pull(state_key)


# -- locks -------------------------------------------------------------------------------


def _lock(call: ActiveCall, key: int, kind: str) -> None:
    state_key = _key(call, key)
    state = _state(call)
    take = state.try_lock_write if kind == "write" else state.try_lock_read
    if not take(state_key, 0):
        with call.context.host.pool.blocking():  # waiting must not hold a worker's place
            if not take(state_key, LOCK_TIMEOUT_SECONDS):
                raise StateLockTimeoutError(state_key.user, state_key.key, LOCK_TIMEOUT_SECONDS)
    _session(call).locks.append((kind, state_key))


def _unlock(call: ActiveCall, key: int, kind: str) -> None:
    state_key = _key(call, key)
    session = _session(call)
    try:
        session.locks.remove((kind, state_key))
    except ValueError:
        raise StateValueError(state_key.user, state_key.key, f"this call holds no {kind} lock on it") from None
    state = _state(call)
    (state.unlock_write if kind == "write" else state.unlock_read)(state_key)


def lock_state_read(call: ActiveCall, key: int) -> None:
    _lock(call, key, "read")


def unlock_state_read(call: ActiveCall, key: int) -> None:
    _unlock(call, key, "read")


def lock_state_write(call: ActiveCall, key: int) -> None:
    _lock(call, key, "write")


def unlock_state_write(call: ActiveCall, key: int) -> None:
    _unlock(call, key, "write")


def register(host_functions) -> None:
    define = host_functions.define
    define("__faasm_read_state", "iii", "i", read_state)
    define("__faasm_read_state_ptr", "ii", "i", read_state_ptr)
    define("__faasm_write_state", "iii", "", write_state)
    define("__faasm_append_state", "iii", "", append_state)
    define("__faasm_read_appended_state", "iiii", "", read_appended_state)
    define("__faasm_clear_appended_state", "i", "", clear_appended_state)
    define("__faasm_write_state_offset", "iiiii", "", write_state_offset)
    define("__faasm_write_state_from_file", "ii", "i", write_state_from_file)
    define("__faasm_read_state_offset", "iiiii", "", read_state_offset)
    define("__faasm_flag_state_dirty", "ii", "", flag_state_dirty)
    define("__faasm_flag_state_offset_dirty", "iiii", "", flag_state_offset_dirty)
    define("__faasm_read_state_offset_ptr", "iiii", "i", read_state_offset_ptr)
    define("__faasm_push_state", "i", "", push_state)
    define("__faasm_push_state_partial", "i", "", push_state_partial)
    define("__faasm_push_state_partial_mask", "ii", "", push_state_partial_mask)
    define("__faasm_pull_state", "ii", "", pull_state)
    define("__faasm_lock_state_read", "i", "", lock_state_read)
    define("__faasm_unlock_state_read", "i", "", unlock_state_read)
    define("__faasm_lock_state_write", "i", "", lock_state_write)
    define("__faasm_unlock_state_write", "i", "", unlock_state_write)
