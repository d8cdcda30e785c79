"""Granules on the embedded runtime: I/O, chaining, snapshots, limits and bad input."""

from __future__ import annotations

import struct

import pytest

from faabric.config import FunctionLimits
from faabric.exceptions import (
    FunctionNotFoundError,
    GranuleOutOfMemoryError,
    GranuleTimeoutError,
    GuestMemoryError,
    GuestTrap,
    InvalidFunctionError,
    MissingExportError,
    UnknownCallError,
)
from tests.conftest import wat
from tests.granules import wat_modules as m


async def assert_still_serving(cluster) -> None:
    await cluster.upload("demo", "echo", wat(m.ECHO))
    result = await cluster.invoke("demo", "echo", b"still here")
    assert result.output == b"still here"


async def test_echo_reads_input_and_writes_output(cluster):
    await cluster.upload("demo", "echo", wat(m.ECHO))
    result = await cluster.invoke("demo", "echo", b"hello granule")
    assert result.output == b"hello granule"
    assert result.return_value == 0
    assert result.host == "local-1"
    assert result.run_ms != 0, "the run time was not recorded"


async def test_main_return_value_is_the_result(cluster):
    await cluster.upload("demo", "code", wat(m.RETURNS_CODE))
    assert (await cluster.invoke("demo", "code")).return_value == 42


async def test_a_call_cannot_read_what_an_earlier_call_wrote(cluster):
    await cluster.upload("demo", "probe", wat(m.LEAK_PROBE))
    first = await cluster.invoke("demo", "probe", b"SECRET!!")
    second = await cluster.invoke("demo", "probe", b"other")
    assert first.output == bytes(8)
    assert second.output == bytes(8), "the second call saw the first call's memory"


async def test_every_call_starts_from_the_zygote_snapshot(cluster):
    await cluster.upload("demo", "zygote", wat(m.ZYGOTE))
    results = [await cluster.invoke("demo", "zygote") for _ in range(3)]
    for result in results:
        marker, counter = struct.unpack("<II", result.output)
        assert marker == 0x2A2A2A2A  # written to memory by the zygote
        assert counter == 8  # global set to 7 by the zygote, +1 by this call only


async def test_chain_by_pointer_runs_a_table_entry_with_its_own_input(cluster):
    await cluster.upload("demo", "pointer", wat(m.CHAIN_BY_POINTER))
    result = await cluster.invoke("demo", "pointer")
    child_output, code = result.output[:4], struct.unpack("<i", result.output[4:])[0]
    assert child_output == b"Ptr!"
    assert code == 9


async def test_fan_out_by_name_runs_children_in_parallel(cluster):
    await cluster.upload("demo", "spin", wat(m.SPIN))
    await cluster.upload("demo", "fanout", wat(m.FAN_OUT))
    seen: list = []
    original = cluster.planner.set_result

    def record(message):
        if message.function == "spin":
            seen.append((message.start_ns, message.finish_ns))
        original(message)

    cluster.planner.set_result = record
    result = await cluster.invoke("demo", "fanout", struct.pack("<I", 6))
    assert struct.unpack("<i", result.output)[0] == 0
    assert len(seen) == 6
    seen.sort()
    overlaps = sum(1 for a, b in zip(seen, seen[1:]) if b[0] < a[1])
    assert overlaps > 0, "no two chained calls ran at the same time"


async def test_batch_invocation_returns_every_result(cluster):
    from faabric import Call

    await cluster.upload("demo", "echo", wat(m.ECHO))
    results = await cluster.invoke_batch(Call("demo", "echo", str(i).encode()) for i in range(50))
    assert [r.output for r in results] == [str(i).encode() for i in range(50)]


async def test_two_hosts_share_the_work(config):
    from faabric import Call, LocalCluster

    small = config.__class__(**{**config.__dict__, "slots": 2})
    async with LocalCluster(hosts=2, config=small) as two:
        await two.upload("demo", "spin", wat(m.SPIN))
        results = await two.invoke_batch(Call("demo", "spin", struct.pack("<I", 1 << 20)) for _ in range(8))
    assert {r.host for r in results} == {"local-1", "local-2"}
    assert all(r.error is None for r in results)


# Bad input -------------------------------------------------------------------


async def test_invalid_wasm_bytes_are_rejected_at_upload(cluster):
    with pytest.raises(InvalidFunctionError, match="demo/junk"):
        await cluster.upload("demo", "junk", b"this is not wasm")
    await assert_still_serving(cluster)


async def test_module_without_start_or_main_is_rejected(cluster):
    with pytest.raises(MissingExportError, match="neither _start nor main"):
        await cluster.upload("demo", "noentry", wat(m.NO_ENTRY))
    await assert_still_serving(cluster)


async def test_unknown_function_raises_function_not_found(cluster):
    with pytest.raises(FunctionNotFoundError, match="demo/missing") as caught:
        await cluster.invoke("demo", "missing")
    assert caught.value.function == "missing"
    await assert_still_serving(cluster)


@pytest.mark.parametrize(
    "module, match",
    [(m.UNREACHABLE, "unreachable"), (m.OUT_OF_BOUNDS, "out of bounds")],
)
async def test_traps_raise_guest_trap(cluster, module, match):
    await cluster.upload("demo", "trap", wat(module))
    with pytest.raises(GuestTrap, match=match):
        await cluster.invoke("demo", "trap")
    await assert_still_serving(cluster)


async def test_infinite_loop_hits_the_time_limit(cluster):
    await cluster.upload("demo", "loop", wat(m.INFINITE_LOOP), FunctionLimits(time_seconds=0.3))
    with pytest.raises(GranuleTimeoutError) as caught:
        await cluster.invoke("demo", "loop")
    assert caught.value.limit_seconds == 0.3
    await assert_still_serving(cluster)


async def test_memory_bomb_hits_the_memory_cap(cluster):
    await cluster.upload("demo", "bomb", wat(m.MEMORY_BOMB), FunctionLimits(memory_bytes=8 << 20))
    with pytest.raises(GranuleOutOfMemoryError) as caught:
        await cluster.invoke("demo", "bomb")
    assert caught.value.limit_bytes == 8 << 20
    await assert_still_serving(cluster)


@pytest.mark.parametrize(
    "function, args",
    [
        ("__faasm_read_input", "65000 1000"),  # buffer runs past the end of memory
        ("__faasm_read_input", "16 -5"),  # negative length
        ("__faasm_read_input", "16 2147483647"),  # length near 2^31
        ("__faasm_read_input", "-16 8"),  # pointer near 2^32
        ("__faasm_write_output", "16 2147483647"),
        ("__faasm_write_output", "16 -1"),
        ("__faasm_write_output", "-2147483648 4"),
        ("__faasm_chain_name", "70000 0 0"),  # name pointer outside memory
        ("__faasm_chain_name", "16 65530 100"),  # input outside memory
        ("__faasm_await_call_output", "1 65535 0"),  # out-pointer straddles the end
    ],
)
async def test_bad_pointers_and_lengths_trap_with_guest_memory_error(cluster, function, args):
    await cluster.upload("demo", "bad", wat(m.bad_host_call(function, args)))
    await cluster.upload("demo", "no-such-function", wat(m.ECHO))
    with pytest.raises(GuestMemoryError, match="outside linear memory|negative length"):
        await cluster.invoke("demo", "bad", b"some input")
    await assert_still_serving(cluster)


async def test_chaining_a_missing_function_names_it(cluster):
    await cluster.upload("demo", "chainer", wat(m.bad_host_call("__faasm_chain_name", "16 0 0")))
    with pytest.raises(FunctionNotFoundError, match="demo/no-such-function"):
        await cluster.invoke("demo", "chainer")
    await assert_still_serving(cluster)


async def test_awaiting_an_unknown_id_raises_unknown_call(cluster):
    await cluster.upload("demo", "waiter", wat(m.bad_host_call("__faasm_await_call", "12345")))
    with pytest.raises(UnknownCallError) as caught:
        await cluster.invoke("demo", "waiter")
    assert caught.value.message_id == 12345
    await assert_still_serving(cluster)


async def test_calling_an_unimplemented_import_names_it(cluster):
    module = """(module (import "env" "MPI_Frobnicate" (func $f (param i32)))
      (memory (export "memory") 1) (func (export "_start") (call $f (i32.const 1))))"""
    await cluster.upload("demo", "unimpl", wat(module))
    with pytest.raises(GuestTrap, match="env.MPI_Frobnicate"):
        await cluster.invoke("demo", "unimpl")
    await assert_still_serving(cluster)
