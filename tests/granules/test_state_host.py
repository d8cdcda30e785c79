"""Faasm's state host functions in granules, over both global tiers.

The guest is examples/state/state_ops.c: one state operation per call,
chosen by its input (``"<op> <key> [n1 [n2 [n3]]]\\n<payload>"``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import struct
from pathlib import Path

import pytest

from faabric import Call
from faabric.cluster import LocalCluster
from faabric.exceptions import (
    GuestMemoryError,
    InvalidStateKeyError,
    StateBackendUnavailableError,
    StateFileError,
    StateKeyError,
    StateRangeError,
    StateValueError,
)
from faabric.state import CHUNK_SIZE, StateKey
from faabric.testing.redis import redis_server
from granules.toolchain import compile_wasm
from tests.conftest import wat

STATE_OPS_C = Path(__file__).resolve().parents[2] / "examples" / "state" / "state_ops.c"


@pytest.fixture(scope="session")
def state_ops_wasm(tmp_path_factory) -> bytes:
    return compile_wasm([STATE_OPS_C], tmp_path_factory.mktemp("state") / "state_ops.wasm").read_bytes()


@pytest.fixture
async def cluster(config, state_backend, state_ops_wasm):
    four_slots = dataclasses.replace(config, slots=4)  # so a batch of 8 spans both hosts
    async with LocalCluster(hosts=2, config=four_slots, redis_url=state_backend) as running:
        for user in ("alice", "bob"):
            await running.upload(user, "ops", state_ops_wasm)
        yield running


async def op(cluster, command: str, payload: bytes = b"", user: str = "alice") -> bytes:
    result = await cluster.invoke(user, "ops", command.encode() + b"\n" + payload)
    assert result.return_value == 0, result.stderr
    return result.output


async def failing(cluster, command: str, payload: bytes = b"", user: str = "alice"):
    result = await cluster.invoke(user, "ops", command.encode() + b"\n" + payload, raise_on_error=False)
    assert result.error is not None, f"{command!r} did not fail"
    return result.error


def local(cluster, host: int = 0):
    return cluster.hosts[host].state


def _key(key: str) -> StateKey:
    return StateKey("alice", key)


# Every host function ------------------------------------------------------------------


async def test_write_read_and_size(cluster):
    await op(cluster, "write k", b"hello state")
    assert await op(cluster, "size k") == b"11"
    assert await op(cluster, "read k 64") == b"hello state"
    assert await op(cluster, "read k 5") == b"hello"
    assert await op(cluster, "size missing") == b"0"


async def test_offset_reads_and_writes(cluster):
    await op(cluster, "write_offset k 16 4", b"abcd")
    assert await op(cluster, "read_offset k 16 4 4") == b"abcd"
    assert await op(cluster, "read k 64") == bytes(4) + b"abcd" + bytes(8)


async def test_pointers_see_the_value_and_writes_through_them(cluster):
    await op(cluster, "write k", b"0123456789")
    assert await op(cluster, "ptr_read k 10") == b"0123456789"
    assert await op(cluster, "offset_ptr_read k 10 3 4") == b"3456"
    await op(cluster, "ptr_write k 10 2", b"AB")
    assert await op(cluster, "read k 10") == b"01AB456789"


async def test_repeated_pointer_calls_in_one_call_return_the_same_address(cluster):
    await op(cluster, "write k", bytes(100))
    first, second, at_offset = map(int, (await op(cluster, "ptr_twice k 100 40")).split())
    assert first == second
    assert at_offset == first + 40
    assert first % 4096 == 0


async def test_an_offset_pointer_maps_only_the_pages_it_needs(cluster):
    size = 3 * CHUNK_SIZE
    await cluster.state("alice").set("big", bytes(size))
    await op(cluster, "offset_ptr_write big %d %d" % (size, 2 * CHUNK_SIZE + 5), b"far")
    assert await op(cluster, "read_offset big %d %d 3" % (size, 2 * CHUNK_SIZE + 5)) == b"far"


async def test_flagged_pointer_writes_are_pushed_partially(cluster):
    here, there = cluster.state("alice", 0), cluster.state("alice", 1)
    await here.set("k", bytes(8))
    await here.push("k")
    await op(cluster, "ptr_write k 8 0", b"ptr!")  # runs on host 0
    await op(cluster, "flag_offset_dirty k 8 0 4")
    await op(cluster, "push_partial k")
    assert await there.get("k") == b"ptr!" + bytes(4)


async def test_unflagged_pointer_writes_are_not_pushed(cluster):
    here = cluster.state("alice", 0)
    await here.set("k", bytes(4))
    await here.push("k")
    await op(cluster, "ptr_write k 4 0", b"lost")
    await op(cluster, "push k")
    assert cluster.global_tier.get(_key("k").name) == bytes(4)
    await op(cluster, "flag_dirty k 4")
    await op(cluster, "push k")
    assert cluster.global_tier.get(_key("k").name) == b"lost"


async def test_push_mask_uses_another_value_as_the_dirty_mask(cluster):
    here = cluster.state("alice")
    await here.set("k", bytes(2 * CHUNK_SIZE))
    await here.push("k")
    await here.set("k", b"\1" * (2 * CHUNK_SIZE))
    await here.set("mask", bytes(CHUNK_SIZE) + b"\xff" * CHUNK_SIZE)
    await op(cluster, "push_mask k", b"mask")
    assert cluster.global_tier.get(_key("k").name) == bytes(CHUNK_SIZE) + b"\1" * CHUNK_SIZE


async def test_pull_replaces_the_local_copy(cluster):
    there = cluster.state("alice", 1)
    await there.set("k", b"new!")
    await there.push("k")
    await cluster.state("alice", 0).set("k", b"old!")
    await op(cluster, "pull k 4")
    assert await op(cluster, "read k 4") == b"new!"


async def test_append_read_appended_and_clear(cluster):
    await op(cluster, "append log", b"abc")
    await op(cluster, "append log", b"def")
    assert await op(cluster, "appended log 6 2") == b"abcdef"
    assert await op(cluster, "appended log 3 1") == b"abc"
    await op(cluster, "clear_appended log")
    error = await failing(cluster, "appended log 3 1")
    assert isinstance(error, StateRangeError)


async def test_write_state_from_a_file_in_the_sandbox(cluster, config):
    sandbox = config.sandbox_dir / "alice"
    sandbox.mkdir(parents=True, exist_ok=True)
    (sandbox / "data.bin").write_bytes(b"from a file")
    assert await op(cluster, "from_file f", b"/data.bin") == b"11"
    assert await op(cluster, "read f 64") == b"from a file"


async def test_write_state_from_a_file_outside_the_sandbox_is_refused(cluster, config):
    (config.home / "secret.txt").write_bytes(b"nope")
    for path in (b"../../secret.txt", b"/../../secret.txt", b"missing.txt"):
        error = await failing(cluster, "from_file f", path)
        assert isinstance(error, StateFileError)


async def test_locks_can_be_taken_and_released(cluster):
    await op(cluster, "lock_read k 1")
    await op(cluster, "lock_write k 1")


async def test_a_lock_left_held_is_released_when_its_call_ends(cluster):
    await op(cluster, "lock_write k 0")
    await op(cluster, "lock_write k 1")  # would wait for ever if the first were still held


async def test_unlocking_a_lock_the_call_does_not_hold_is_an_error(cluster):
    error = await failing(cluster, "unlock_write k")
    assert isinstance(error, StateValueError)
    await op(cluster, "lock_write k 1")


# Sharing ------------------------------------------------------------------------------


async def test_co_located_granules_share_pages_without_copying(cluster):
    await op(cluster, "ptr_read shared 4096")  # creates the value: 4096 zero bytes, nothing copied
    copied = local(cluster).bytes_copied
    await op(cluster, "ptr_write shared 4096 100", b"written by A")
    seen = await op(cluster, "ptr_read shared 4096")
    assert seen[100:112] == b"written by A"
    assert local(cluster).bytes_copied == copied, "the local tier copied bytes"


LIVE_IMPORTS = """
  (import "env" "__faasm_read_state_ptr" (func $ptr (param i32 i32) (result i32)))
  (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "live\\00")
"""

# Maps "live" and waits until its first word is 1, then outputs the 8 bytes after it.
LIVE_READER = f"""(module {LIVE_IMPORTS}
  (func (export "_start") (local $p i32)
    (local.set $p (call $ptr (i32.const 16) (i32.const 4096)))
    (loop $wait (br_if $wait (i32.ne (i32.atomic.load (local.get $p)) (i32.const 1))))
    (call $write_output (i32.add (local.get $p) (i32.const 4)) (i32.const 8))))
"""

# Maps "live", stores 8 bytes after the first word, then sets the word to 1.
LIVE_WRITER = f"""(module {LIVE_IMPORTS}
  (func (export "_start") (local $p i32)
    (local.set $p (call $ptr (i32.const 16) (i32.const 4096)))
    (i64.store (i32.add (local.get $p) (i32.const 4)) (i64.const 0x2121424d4f524621))
    (i32.atomic.store (local.get $p) (i32.const 1))))
"""


async def test_a_running_granule_sees_another_granules_write_through_its_pointer(config):
    two_cores = dataclasses.replace(config, cores=2)  # reader and writer run at the same time
    async with LocalCluster(config=two_cores) as cluster:
        await cluster.upload("alice", "reader", wat(LIVE_READER))
        await cluster.upload("alice", "writer", wat(LIVE_WRITER))
        await cluster.state("alice").set("live", bytes(4096))
        copied = local(cluster).bytes_copied
        reader, writer = await cluster.invoke_batch([Call("alice", "reader"), Call("alice", "writer")])
        assert reader.error is None and writer.error is None
        assert reader.output == struct.pack("<Q", 0x2121424D4F524621)
        assert local(cluster).bytes_copied == copied


async def test_granules_on_two_hosts_lose_no_update_under_the_write_lock(cluster):
    state = cluster.state("alice")
    await state.set("counter", bytes(4))
    await state.push("counter")
    results = await cluster.invoke_batch([Call("alice", "ops", b"incr counter 15\n") for _ in range(8)])
    assert [r.error for r in results] == [None] * 8
    assert {r.host for r in results} == {"local-1", "local-2"}
    await state.pull("counter")
    assert int.from_bytes(await state.get("counter"), "little") == 8 * 15


# Tenant isolation ---------------------------------------------------------------------


async def test_one_user_cannot_read_or_write_another_users_keys(cluster):
    await op(cluster, "write secret", b"alice only", user="alice")
    await op(cluster, "push secret", user="alice")
    for key in ("secret", "alice/secret", "alice:secret", "../alice/secret", "alice%3Asecret"):
        error = await failing(cluster, f"read {key} 64", user="bob")
        assert isinstance(error, StateKeyError), key
        await op(cluster, f"write {key}", b"bob was here", user="bob")
        await op(cluster, f"push {key}", user="bob")
    assert await op(cluster, "read secret 64", user="alice") == b"alice only"
    await op(cluster, "pull secret 10", user="alice")
    assert await op(cluster, "read secret 64", user="alice") == b"alice only"


# Bad input ----------------------------------------------------------------------------


async def test_bad_input_is_a_typed_error_and_corrupts_nothing(cluster):
    await op(cluster, "write k", b"0123456789")
    cases = [
        ("read_offset k 10 -1 4", StateRangeError),
        ("read_offset k 10 8 4", StateRangeError),
        ("read_offset k 20 8 4", StateRangeError),
        ("read_offset k -5 0 1", StateRangeError),
        ("write_offset k 10 -3", StateRangeError),
        ("offset_ptr_read k 10 9 5", StateRangeError),
        ("offset_ptr_read k 10 -4096 4", StateRangeError),
        ("ptr_read k 11", StateRangeError),
        ("flag_offset_dirty k 10 5 10", StateRangeError),
        ("pull k -1", StateRangeError),
        ("read missing 10", StateKeyError),
        ("pull never-pushed 4", StateKeyError),
        ("raw_read k 2147483000 100", GuestMemoryError),
        ("raw_read k 4096 -5", GuestMemoryError),
        ("raw_key x 4294967000", GuestMemoryError),
        ("read %s 10" % ("k" * 2000), InvalidStateKeyError),
        ("appended k 2 5", StateRangeError),
    ]
    for command, expected in cases:
        payload = b"xx" if command.startswith("write_offset") else b""
        error = await failing(cluster, command, payload)
        assert isinstance(error, expected), (command, error)
        assert "Internal" not in type(error).__name__
    assert await op(cluster, "read k 64") == b"0123456789"
    assert await op(cluster, "ptr_read k 10") == b"0123456789"



@pytest.mark.timeout(120)
async def test_redis_going_down_fails_the_call_with_a_clear_error_and_the_runtime_keeps_serving(
    config, state_ops_wasm
):
    with contextlib.ExitStack() as server:
        url = server.enter_context(redis_server())
        async with LocalCluster(config=config, redis_url=url) as cluster:
            await cluster.upload("alice", "ops", state_ops_wasm)
            await op(cluster, "write k", b"before")
            await op(cluster, "push k")
            server.close()  # stops redis-server
            await op(cluster, "write k", b"after!")
            error = await failing(cluster, "push k")
            assert isinstance(error, StateBackendUnavailableError)
            assert "redis://127.0.0.1" in str(error)
            assert isinstance(await failing(cluster, "read elsewhere 8"), StateBackendUnavailableError)
            assert await op(cluster, "read k 64") == b"after!", "the local tier still serves"
