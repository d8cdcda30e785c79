"""Memory images for the wire: only non-zero pages travel, and the memory comes back whole."""

from __future__ import annotations

import msgpack
import pytest

from faabric.exceptions import ConfigError
from faabric.snapshot import MemoryImage
from faabric.snapshot.diff import BLOCK, PAGE


def test_only_non_zero_pages_travel_as_runs_and_the_memory_comes_back_whole():
    memory = bytearray(3 * BLOCK)
    memory[5] = 1  # page 0
    memory[PAGE + 7] = 2  # page 1: one run with page 0
    memory[BLOCK + 3 * PAGE] = 3  # a page of its own in the second block
    memory[-1] = 4  # the last page
    image = MemoryImage.capture(memory)
    assert [(offset, len(data)) for offset, data in image.runs] == [
        (0, 2 * PAGE), (BLOCK + 3 * PAGE, PAGE), (3 * BLOCK - PAGE, PAGE)
    ]
    wire = msgpack.unpackb(msgpack.packb(image.to_wire(), use_bin_type=True))
    assert MemoryImage.from_wire(wire).contents() == memory


def test_zero_memory_has_no_runs_and_a_run_outside_the_size_is_refused():
    assert MemoryImage.capture(bytes(BLOCK)) == MemoryImage(BLOCK, ())
    with pytest.raises(ConfigError, match="outside"):
        MemoryImage(PAGE, ((PAGE - 1, b"ab"),)).contents()
