"""Snapshot diffs and merge regions, without wasm: what a thread changed, and merging it back."""

from __future__ import annotations

import struct

import msgpack
import pytest

from faabric.exceptions import ConfigError
from faabric.snapshot import DataType, MergeOp, MergeRegion, SnapshotDiff, apply_diffs, diff_memory
from faabric.snapshot.diff import BLOCK, PAGE

SIZE = 3 * BLOCK + 100  # not a whole number of pages


def memory(**values) -> bytearray:
    data = bytearray(SIZE)
    for offset, payload in values.items():
        start = int(offset.lstrip("_"))
        data[start:start + len(payload)] = payload
    return data


def typed(fmt: str, value) -> bytes:
    return struct.pack("<" + fmt, value)


def test_unchanged_memory_has_no_diff():
    original = memory(_10=b"abc")
    assert diff_memory(bytes(original), bytes(original)) == []


def test_bytewise_diffs_carry_exactly_the_changed_bytes_page_by_page():
    original = bytearray(SIZE)
    updated = bytearray(original)
    updated[5:8] = b"xyz"
    updated[10] = 1
    updated[PAGE - 2:PAGE + 2] = b"ABCD"  # across a page boundary
    updated[SIZE - 1] = 9  # the very last byte, in the partial last page
    diffs = diff_memory(bytes(original), bytes(updated))
    first_page_mask = bytearray(PAGE - 5)  # from the first change to the end of page 0
    for changed in (0, 1, 2, 5, PAGE - 7, PAGE - 6):
        first_page_mask[changed] = 0xFF
    assert [(d.offset, d.data, d.mask) for d in diffs] == [
        (5, bytes(updated[5:PAGE]), bytes(first_page_mask)),  # unchanged bytes inside the span are masked out
        (PAGE, b"CD", b""), (SIZE - 1, b"\x09", b""),
    ]
    assert all(d.operation == MergeOp.BYTEWISE and d.data_type == DataType.RAW for d in diffs)
    merged = bytearray(original)
    apply_diffs(merged, diffs)
    assert merged == updated


def test_masked_bytes_keep_what_another_thread_wrote_there():
    original = bytes(SIZE)
    thread_a, thread_b = bytearray(original), bytearray(original)
    thread_a[0:8:2] = b"aaaa"  # even bytes
    thread_b[1:8:2] = b"bbbb"  # odd bytes, inside thread a's span
    main = bytearray(original)
    apply_diffs(main, diff_memory(original, thread_a))
    apply_diffs(main, diff_memory(original, thread_b))
    assert main[0:8] == b"abababab"


def test_threads_writing_neighbouring_bytes_do_not_overwrite_each_other():
    original = bytes(SIZE)
    thread_a, thread_b = bytearray(original), bytearray(original)
    thread_a[100:104] = b"aaaa"
    thread_b[104:108] = b"bbbb"
    main = bytearray(original)
    apply_diffs(main, diff_memory(original, thread_a))
    apply_diffs(main, diff_memory(original, thread_b))
    assert main[100:108] == b"aaaabbbb"


def test_memory_that_grew_is_diffed_against_zeros():
    original = bytes(PAGE)
    updated = bytearray(3 * PAGE)
    updated[2 * PAGE + 7] = 5
    diffs = diff_memory(original, updated)
    assert [(d.offset, d.data, d.mask) for d in diffs] == [(2 * PAGE + 7, b"\x05", b"")]


@pytest.mark.parametrize(
    "data_type, fmt, op, start, updates, expected",
    [
        (DataType.INT, "i", MergeOp.SUM, 10, [13, 20, 10], 23),
        (DataType.LONG, "q", MergeOp.SUM, 1 << 40, [(1 << 40) + 5, (1 << 40) - 2], (1 << 40) + 3),
        (DataType.DOUBLE, "d", MergeOp.SUM, 1.5, [2.0, 3.0], 3.5),
        (DataType.FLOAT, "f", MergeOp.SUM, 0.5, [1.5, 0.75], 1.75),
        (DataType.INT, "i", MergeOp.SUBTRACT, 100, [90, 95], 85),
        (DataType.DOUBLE, "d", MergeOp.PRODUCT, 2.0, [6.0, 10.0], 30.0),
        (DataType.LONG, "q", MergeOp.PRODUCT, 3, [6, 12], 24),
        (DataType.INT, "i", MergeOp.MAX, 5, [3, 9, 7], 9),
        (DataType.DOUBLE, "d", MergeOp.MIN, 5.0, [7.0, -2.5, 1.0], -2.5),
        (DataType.BOOL, "?", MergeOp.MAX, False, [False, True], True),
    ],
)
def test_merge_operations_combine_every_threads_change(data_type, fmt, op, start, updates, expected):
    offset = PAGE + 8
    region = MergeRegion(offset, struct.calcsize(fmt), data_type, op)
    original = memory(**{f"_{offset}": typed(fmt, start)})
    main = bytearray(original)
    for value in updates:
        thread = bytearray(original)
        thread[offset:offset + region.length] = typed(fmt, value)
        apply_diffs(main, diff_memory(bytes(original), thread, [region]))
    assert struct.unpack_from("<" + fmt, main, offset)[0] == expected


def test_the_parents_own_change_to_a_sum_region_is_kept():
    region = MergeRegion(64, 8, DataType.LONG, MergeOp.SUM)
    original = memory(_64=typed("q", 10))
    main = bytearray(original)
    struct.pack_into("<q", main, 64, 11)  # the main thread added 1 in place
    thread = bytearray(original)
    struct.pack_into("<q", thread, 64, 15)  # a thread added 5 on its copy
    apply_diffs(main, diff_memory(bytes(original), thread, [region]))
    assert struct.unpack_from("<q", main, 64)[0] == 16


def test_integer_sums_wrap_around_like_c():
    region = MergeRegion(0, 4, DataType.INT, MergeOp.SUM)
    original = memory(_0=typed("i", 2**31 - 1))
    thread = bytearray(original)
    struct.pack_into("<i", thread, 0, 2**31 - 1)
    main = bytearray(original)
    struct.pack_into("<i", main, 0, -(2**31))  # main overflowed by one already
    struct.pack_into("<i", thread, 0, -(2**31))  # so did the thread
    apply_diffs(main, diff_memory(bytes(original), thread, [region]))
    assert struct.unpack_from("<i", main, 0)[0] == -(2**31) + 1


def test_xor_regions_merge_by_xor_and_ignore_regions_are_dropped():
    regions = [MergeRegion(0, 4, DataType.RAW, MergeOp.XOR), MergeRegion(8, 4, DataType.RAW, MergeOp.IGNORE)]
    original = memory(_0=b"\x0f\x00\x00\x00")
    a, b = bytearray(original), bytearray(original)
    a[0:4] = b"\x0e\x00\x00\x00"  # flipped bit 0
    b[0:4] = b"\x0b\x00\x00\x00"  # flipped bit 2
    a[8:12] = b"junk"
    main = bytearray(original)
    diffs = diff_memory(bytes(original), a, regions)
    assert [d.operation for d in diffs] == [MergeOp.XOR]
    apply_diffs(main, diffs)
    apply_diffs(main, diff_memory(bytes(original), b, regions))
    assert main[0:4] == b"\x0a\x00\x00\x00"
    assert main[8:12] == bytes(4)


def test_bytes_around_a_merge_region_are_still_diffed_bytewise():
    region = MergeRegion(100, 4, DataType.INT, MergeOp.SUM)
    original = bytes(SIZE)
    thread = bytearray(original)
    thread[98:100] = b"<<"
    struct.pack_into("<i", thread, 100, 7)
    thread[104:106] = b">>"
    diffs = diff_memory(original, thread, [region])
    assert [(d.offset, d.operation) for d in diffs] == [
        (98, MergeOp.BYTEWISE), (100, MergeOp.SUM), (104, MergeOp.BYTEWISE)]


def test_diffs_and_regions_travel_as_plain_data():
    regions = [MergeRegion(7, 8, DataType.DOUBLE, MergeOp.MAX)]
    diffs = diff_memory(bytes(SIZE), memory(_7=typed("d", 2.5), _100=b"x"), regions)
    wire = msgpack.packb([[d.to_wire() for d in diffs], [r.to_wire() for r in regions]])
    sent_diffs, sent_regions = msgpack.unpackb(wire)
    assert [SnapshotDiff.from_wire(item) for item in sent_diffs] == diffs
    assert [MergeRegion.from_wire(item) for item in sent_regions] == regions


def test_codes_are_faasms():
    assert [t.value for t in (DataType.RAW, DataType.BOOL, DataType.INT, DataType.LONG, DataType.FLOAT,
                              DataType.DOUBLE)] == [0, 1, 2, 3, 4, 5]
    assert [o.value for o in (MergeOp.BYTEWISE, MergeOp.SUM, MergeOp.PRODUCT, MergeOp.SUBTRACT, MergeOp.MAX,
                              MergeOp.MIN, MergeOp.IGNORE, MergeOp.XOR)] == list(range(8))


def test_bad_regions_and_diffs_are_rejected():
    with pytest.raises(ConfigError):
        MergeRegion(0, 6, DataType.INT, MergeOp.SUM)  # not whole ints
    with pytest.raises(ConfigError):
        MergeRegion(0, 4, DataType.RAW, MergeOp.MAX)  # raw bytes have no order
    with pytest.raises(ConfigError):
        MergeRegion(-1, 4, DataType.INT, MergeOp.SUM)
    with pytest.raises(ConfigError):
        apply_diffs(bytearray(4), [SnapshotDiff(2, b"abc")])
    with pytest.raises(ValueError, match="overlap"):
        diff_memory(bytes(16), bytes(16), [MergeRegion(0, 8, DataType.LONG, MergeOp.SUM),
                                           MergeRegion(4, 4, DataType.INT, MergeOp.SUM)])
