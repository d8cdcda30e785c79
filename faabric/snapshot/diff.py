"""Diffing a thread's memory against the snapshot it started from."""

from __future__ import annotations

import re

from faabric.snapshot.merge import MergeOp, MergeRegion, SnapshotDiff

PAGE = 4096
BLOCK = 16 * PAGE
_CHANGED_RUN = re.compile(rb"[^\x00]+")


def diff_memory(
    original: bytes | memoryview, updated: bytes | memoryview, regions: list[MergeRegion] = ()
) -> list[SnapshotDiff]:
    """What ``updated`` changed relative to ``original``.

    Inside merge ``regions`` a changed region gives one typed diff (its
    delta, see :class:`MergeRegion`); IGNORE regions give none. Everywhere
    else the diff is bytewise: exactly the runs of changed bytes, so threads
    that wrote neighbouring bytes do not overwrite each other. Memory past
    the end of ``original`` counts as zeros (memory that grew).
    """
    original, updated = memoryview(original).cast("B"), memoryview(updated).cast("B")
    size = len(updated)
    if len(original) < size:
        original = memoryview(bytes(original) + bytes(size - len(original)))
    ordered = sorted(r for r in regions if r.offset < size)
    diffs: list[SnapshotDiff] = []
    position = 0
    for region in ordered:
        if region.offset < position:
            raise ValueError(f"merge regions overlap at offset {region.offset}")
        diffs += _bytewise(original, updated, position, region.offset)
        end = min(region.end, size)
        before, after = original[region.offset:end], updated[region.offset:end]
        if region.operation != MergeOp.IGNORE and before != after:
            if end != region.end:
                raise ValueError(f"merge region at {region.offset} runs past the end of memory")
            diffs.append(SnapshotDiff(region.offset, region.delta(bytes(before), bytes(after)),
                                      region.operation, region.data_type))
        position = end
    diffs += _bytewise(original, updated, position, size)
    return diffs


def _bytewise(original: memoryview, updated: memoryview, start: int, end: int) -> list[SnapshotDiff]:
    """Changed byte runs in ``[start, end)``: unchanged blocks are skipped whole, then page by page."""
    diffs: list[SnapshotDiff] = []
    block = start
    while block < end:
        block_end = min(end, (block // BLOCK + 1) * BLOCK)
        if bytes(original[block:block_end]) != bytes(updated[block:block_end]):  # bytes: a memcmp
            page = block
            while page < block_end:
                stop = min(block_end, (page // PAGE + 1) * PAGE)
                before, after = bytes(original[page:stop]), bytes(updated[page:stop])
                if before != after:
                    changed = (int.from_bytes(before, "little") ^ int.from_bytes(after, "little")).to_bytes(
                        stop - page, "little")
                    for run in _CHANGED_RUN.finditer(changed):
                        diffs.append(SnapshotDiff(page + run.start(), after[run.start():run.end()]))
                page = stop
        block = block_end
    return diffs
