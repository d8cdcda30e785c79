"""Diffing a thread's memory against the snapshot it started from."""

from __future__ import annotations

from faabric.snapshot.merge import MergeOp, MergeRegion, SnapshotDiff

PAGE = 4096
BLOCK = 16 * PAGE
_CHANGED_TO_FF = bytes([0] + [0xFF] * 255)  # bytes.translate table: changed bytes (non-zero XOR) -> 0xFF


def diff_memory(
    original: bytes | memoryview,
    updated: bytes | memoryview,
    regions: list[MergeRegion] = (),
    dirty_pages: set[int] | None = None,
) -> list[SnapshotDiff]:
    """What ``updated`` changed relative to ``original``.

    Inside merge ``regions`` a changed region gives one typed diff (its
    delta, see :class:`MergeRegion`); IGNORE regions give none. Everywhere
    else the diff is bytewise, one per changed page: the span of changed
    bytes, with a mask when unchanged bytes lie inside it, so threads that
    wrote neighbouring bytes never overwrite each other. Memory past the end
    of ``original`` counts as zeros (memory that grew).

    ``dirty_pages`` (indices of :data:`PAGE`-sized pages), when known, are
    the only pages that may have changed outside merge regions; the others
    are not compared.
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
        diffs += _bytewise(original, updated, position, region.offset, dirty_pages)
        end = min(region.end, size)
        before, after = original[region.offset:end], updated[region.offset:end]
        if region.operation != MergeOp.IGNORE and before != after:
            if end != region.end:
                raise ValueError(f"merge region at {region.offset} runs past the end of memory")
            diffs.append(SnapshotDiff(region.offset, region.delta(bytes(before), bytes(after)),
                                      region.operation, region.data_type))
        position = end
    diffs += _bytewise(original, updated, position, size, dirty_pages)
    return diffs


def _bytewise(
    original: memoryview, updated: memoryview, start: int, end: int, dirty_pages: set[int] | None
) -> list[SnapshotDiff]:
    """Changed byte runs in ``[start, end)``: unchanged blocks are skipped whole, then page by page."""
    diffs: list[SnapshotDiff] = []
    block = start
    while block < end:
        block_end = min(end, (block // BLOCK + 1) * BLOCK)
        if dirty_pages is not None and not any(
            page in dirty_pages for page in range(block // PAGE, (block_end - 1) // PAGE + 1)
        ):
            block = block_end
            continue
        if bytes(original[block:block_end]) != bytes(updated[block:block_end]):  # bytes: a memcmp
            page = block
            while page < block_end:
                stop = min(block_end, (page // PAGE + 1) * PAGE)
                before, after = bytes(original[page:stop]), bytes(updated[page:stop])
                if before != after:
                    changed = (int.from_bytes(before, "little") ^ int.from_bytes(after, "little")).to_bytes(
                        stop - page, "little").translate(_CHANGED_TO_FF)
                    first = len(changed) - len(changed.lstrip(b"\0"))
                    last = len(changed.rstrip(b"\0"))
                    mask = changed[first:last]
                    diffs.append(SnapshotDiff(page + first, after[first:last], mask=mask if b"\0" in mask else b""))
                page = stop
        block = block_end
    return diffs
