"""Thread calls' input and output round-trip through msgpack; only marked calls are thread calls."""

from __future__ import annotations

from faabric.messages import Message
from faabric.snapshot import DataType, MemoryImage, MergeOp, MergeRegion, SnapshotDiff
from granules import raw
from openmp_shim.thread_wire import (
    ThreadResult,
    ThreadSpec,
    globals_from_wire,
    globals_to_wire,
    is_thread_call,
    snapshot_key,
)


def test_a_spec_with_memory_globals_and_merge_regions_round_trips():
    values = {3: raw.make_value("i", 65536), 7: raw.make_value("F", 2.5)}
    region = MergeRegion(64, 8, DataType.LONG, MergeOp.SUM)
    spec = ThreadSpec([1024, 2048], 4, {2: 4096, 3: 8192}, 4, (2, 3), True,
                      MemoryImage.capture(b"\0" * 4096 + b"x" * 4096), globals_to_wire(values), [region])
    back = ThreadSpec.unpack(spec.pack())
    assert back == spec
    restored = globals_from_wire(back.globals)
    assert (restored[3].of.i32, restored[7].of.f64) == (65536, 2.5)


def test_a_result_with_diffs_deposits_and_regions_round_trips():
    diffs = [SnapshotDiff(16, b"ab", mask=b"\xff\0"), SnapshotDiff(64, b"\1" * 8, MergeOp.SUM, DataType.LONG)]
    result = ThreadResult(diffs, [(1, 4000, b"stack", 4040)], [MergeRegion(64, 8, DataType.LONG, MergeOp.SUM)])
    assert ThreadResult.unpack(result.pack()) == result


def test_only_calls_with_an_openmp_snapshot_key_are_thread_calls():
    assert is_thread_call(Message(1, 1, "u", "f", snapshot_key=snapshot_key(1, 2), group_id=1, group_index=2))
    assert not is_thread_call(Message(1, 1, "u", "f"))
