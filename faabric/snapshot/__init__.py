"""Snapshot diffs and merge regions (Faabric's mechanism for threads that do not share memory).

Pure code, no wasm: a thread runs from a snapshot of its parent's memory;
:func:`diff_memory` finds what it changed, as :class:`SnapshotDiff` records
that pack to plain data for the wire; :func:`apply_diffs` merges them into
the parent's memory, combining registered :class:`MergeRegion` values with
Faasm's merge operations (sum, product, max, ...) instead of overwriting.
:class:`MemoryImage` carries a whole snapshot to another host.
"""

from faabric.snapshot.diff import diff_memory
from faabric.snapshot.image import MemoryImage
from faabric.snapshot.merge import DataType, MergeOp, MergeRegion, SnapshotDiff, apply_diffs

__all__ = ["DataType", "MemoryImage", "MergeOp", "MergeRegion", "SnapshotDiff", "apply_diffs", "diff_memory"]
